/* Keyboard moderation on the queue, as Coral's: j / k next and previous comment, p publish,
 * s spam, r reject (abusive), o open it, ? this help. Each decision is the row's own button
 * (a POST with the page's CSRF token); the page comes back with the next comment selected. */
(function () {
  "use strict";
  var KEYS = { p: "publish", s: "spam", r: "abusive" };
  var HELP = [["j / ↓", "next comment"], ["k / ↑", "previous comment"], ["p", "publish"],
              ["s", "spam"], ["r", "reject (abusive)"], ["o / Enter", "open the comment"],
              ["?", "show or hide these keys"], ["Esc", "close"]];
  var current = 0;

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#result_list tbody tr")); }

  function select(index) {
    var all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, i) {
      row.classList.toggle("rg-selected", i === current);
      row.setAttribute("aria-selected", i === current ? "true" : "false");
    });
    all[current].scrollIntoView({ block: "nearest" });
    var link = all[current].querySelector("th a, td a");
    if (link) link.focus({ preventScroll: true });
  }

  function help() {
    var box = document.getElementById("rg-keys");
    if (box) { box.hidden = !box.hidden; return; }
    box = document.createElement("div");
    box.id = "rg-keys";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "Keyboard shortcuts");
    var list = document.createElement("dl");
    HELP.forEach(function (pair) {
      var key = document.createElement("dt"), what = document.createElement("dd");
      key.textContent = pair[0];
      what.textContent = pair[1];
      list.appendChild(key);
      list.appendChild(what);
    });
    var title = document.createElement("h2");
    title.textContent = "Keyboard shortcuts";
    box.appendChild(title);
    box.appendChild(list);
    document.body.appendChild(box);
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable) return;
    // Enter on a focused button or link (the actions' "Go") does what it says.
    if (event.key === "Enter" && /^(BUTTON|A)$/.test(target.tagName)) return;
    var key = event.key, row = rows()[current];
    if (key === "?") help();
    else if (key === "Escape") { var box = document.getElementById("rg-keys"); if (box) box.hidden = true; }
    else if (key === "j" || key === "ArrowDown") select(current + 1);
    else if (key === "k" || key === "ArrowUp") select(current - 1);
    else if ((key === "o" || key === "Enter") && row) { var a = row.querySelector("th a, td a"); if (a) a.click(); }
    else if (KEYS[key] && row) {
      var button = row.querySelector('button[data-decision="' + KEYS[key] + '"]');
      if (button) button.click();
    } else return;
    event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (!rows().length) return;
    var hint = document.createElement("p");
    hint.className = "rg-keys-hint";
    hint.textContent = "Keyboard: j / k to move, p publish, s spam, r reject, ? for all keys.";
    var list = document.getElementById("changelist");
    if (list) list.parentNode.insertBefore(hint, list);
    select(0);
  });
})();
