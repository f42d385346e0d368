/* ReplyGuard's comment widget. On any page:
 *   <div data-replyguard-article="SLUG"></div>
 *   <script src="https://COMMENTS-HOST/static/replyguard/embed.js" async></script>
 * Plain JavaScript, no build step, no cookies, no third party: it talks to the host it was
 * loaded from. Strings: set window.ReplyGuardStrings = {key: "text"} before it loads. */
(function () {
  "use strict";
  var script = document.currentScript;
  var HOST = new URL(script.src).origin;
  var API = HOST + "/api/";
  var T = Object.assign({
    comments: function (n) { return n === 1 ? "1 Comment" : n + " Comments"; },
    noComments: "No comments yet.",
    oldest: "Oldest first", newest: "Newest first", loadMore: "Load more comments",
    showOldest: "Show oldest first", showNewest: "Show newest first",
    reply: "Reply", cancelReply: "Cancel reply", report: "Report", reported: "Reported",
    reportReason: "Why should a moderator look at this comment?",
    reasons: { spam: "Spam", abusive: "Abusive", off_topic: "Off-topic", other: "Other" },
    sendReport: "Send report", cancel: "Cancel",
    leaveReply: "Leave a Reply", replyTo: function (name) { return "Reply to " + name; },
    note: "Your email address will not be published. Required fields are marked *",
    comment: "Comment", name: "Name", email: "Email", website: "Website",
    post: "Post Comment", posting: "Posting…", retry: "Try again",
    awaiting: "Your comment is awaiting moderation.",
    published: "Your comment is published.",
    notPublished: "Your comment could not be published.",
    closed: "Comments are closed.",
    duplicate: "You have already posted this comment.",
    tooSoon: function (s) { return "One comment at a time: you can post again in " + s + " s."; },
    failed: "Your comment could not be sent. Nothing is lost: try again.",
    rephrase: "Your comment may come across as hurtful to others. Would you like to change it " +
              "before it is posted?",
    postAnyway: "Post it as it is", edit: "Edit my comment",
    loadFailed: "Comments could not be loaded.",
    justNow: "just now",
    ago: function (n, unit) { return n + " " + unit + (n === 1 ? "" : "s") + " ago"; }
  }, window.ReplyGuardStrings || {});

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "html") node.innerHTML = attrs[key]; // body_html: escaped by the API
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), attrs[key]);
      else if (attrs[key] !== null && attrs[key] !== false) node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function request(method, path, body, headers) {
    return fetch(API + path, {
      method: method,
      headers: Object.assign(body ? { "Content-Type": "application/json" } : {}, headers || {}),
      body: body ? JSON.stringify(body) : undefined,
      credentials: "omit",
      cache: "no-cache"
    });
  }

  function ago(iso) {
    var seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
    var units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600],
                 ["minute", 60]];
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][1]) return T.ago(Math.floor(seconds / units[i][1]), units[i][0]);
    }
    return T.justNow;
  }

  function store(key, value) {
    try {
      if (value === undefined) return JSON.parse(localStorage.getItem(key) || "null");
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, JSON.stringify(value));
    } catch (e) { return null; } // private mode or storage full: the widget still works
  }

  function Widget(root) {
    this.root = root;
    this.slug = root.getAttribute("data-replyguard-article");
    this.order = "oldest";
    this.keys = { draft: "replyguard:draft:" + this.slug, mine: "replyguard:mine:" + this.slug,
                  reported: "replyguard:reported" };
    this.build();
    var self = this;
    this.loadForm().then(function () { self.loadThreads(1); }); // the form says who may reply
  }

  Widget.prototype.build = function () {
    var self = this;
    this.root.classList.add("replyguard");
    this.status = el("p", { class: "rg-live", "aria-live": "polite", role: "status" });
    this.count = el("h2", { class: "rg-count" });
    // The order shown, then the other one to choose: a lone "Newest first" read as the order.
    this.orderNow = el("span", { class: "rg-order-now" });
    this.sort = el("button", { type: "button", class: "rg-link rg-sort", onclick: function () {
      self.order = self.order === "oldest" ? "newest" : "oldest";
      self.loadThreads(1);
    } });
    this.orderBar = el("p", { class: "rg-order" }, [this.orderNow, this.sort]);
    this.list = el("ol", { class: "rg-threads" });
    this.more = el("button", { type: "button", class: "rg-button rg-more", hidden: true,
                               text: T.loadMore, onclick: function () {
                                 self.loadThreads(self.page + 1);
                               } });
    this.respond = el("div", { class: "rg-respond" });
    this.root.replaceChildren(this.count, this.orderBar, this.list, this.more, this.respond,
                              this.status);
  };

  Widget.prototype.announce = function (text) {
    this.status.textContent = "";
    this.status.textContent = text;
  };

  Widget.prototype.loadThreads = function (page) {
    var self = this;
    var path = "articles/" + this.slug + "/comments/?order=" + this.order + "&page=" + page;
    return request("GET", path).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      self.etag = page === 1 ? response.headers.get("ETag") : self.etag;
      return response.json();
    }).then(function (data) {
      self.page = page;
      var replying = self.formNode && self.list.contains(self.formNode);
      if (page === 1) self.list.replaceChildren();
      self.count.textContent = data.comments ? T.comments(data.comments) : T.noComments;
      self.orderNow.textContent = self.order === "oldest" ? T.oldest : T.newest;
      self.sort.textContent = self.order === "oldest" ? T.showNewest : T.showOldest;
      self.orderBar.hidden = data.count < 2; // threads: nothing to reorder below two
      data.results.forEach(function (comment) { self.list.appendChild(self.item(comment, 0)); });
      self.more.hidden = !data.next;
      if (replying) self.placeForm(document.getElementById("rg-comment-" + self.parent.id));
      self.showMine();
    }).catch(function () { self.announce(T.loadFailed); });
  };

  Widget.prototype.item = function (comment, depth, mine) {
    var self = this;
    var name = comment.author_url
      ? el("a", { href: comment.author_url, rel: "nofollow ugc noopener", text: comment.author_name })
      : el("span", { text: comment.author_name });
    var when = comment.published_at || comment.created_at;
    var time = el("time", { datetime: when, title: new Date(when).toLocaleString(), text: ago(when) });
    var actions = el("div", { class: "rg-actions" });
    var node = el("li", { class: "rg-comment", id: "rg-comment-" + comment.id, "data-depth": depth }, [
      el("article", { "aria-label": comment.author_name }, [
        el("header", { class: "rg-meta" }, [el("strong", { class: "rg-author" }, [name]), time]),
        el("div", { class: "rg-body", html: comment.body_html }),
        mine ? el("p", { class: "rg-notice", text: mine }) : null,
        actions
      ])
    ]);
    if (!mine) {
      if (this.form && depth < this.form.max_reply_depth && this.form.comments_open) {
        actions.appendChild(el("button", { type: "button", class: "rg-link", text: T.reply,
          onclick: function () { self.moveForm(node, comment); } }));
      }
      actions.appendChild(this.reportButton(comment));
    }
    if (comment.replies && comment.replies.length) {
      node.appendChild(el("ol", { class: "rg-replies" }, comment.replies.map(function (reply) {
        return self.item(reply, depth + 1);
      })));
    }
    return node;
  };

  Widget.prototype.reportButton = function (comment) {
    var self = this;
    var reported = store(this.keys.reported) || [];
    var button = el("button", { type: "button", class: "rg-link", text: T.report });
    if (reported.indexOf(comment.id) >= 0) {
      button.textContent = T.reported;
      button.disabled = true;
      return button;
    }
    button.addEventListener("click", function () {
      var select = el("select", { id: "rg-reason-" + comment.id },
        Object.keys(T.reasons).map(function (key) { return el("option", { value: key, text: T.reasons[key] }); }));
      var box = el("form", { class: "rg-report" }, [
        el("label", { for: select.id, text: T.reportReason }), select,
        el("button", { type: "submit", class: "rg-button", text: T.sendReport }),
        el("button", { type: "button", class: "rg-link", text: T.cancel, onclick: function () {
          box.remove(); button.hidden = false; button.focus();
        } })
      ]);
      box.addEventListener("submit", function (event) {
        event.preventDefault();
        request("POST", "comments/" + comment.id + "/report/", { reason: select.value })
          .then(function (response) {
            if (response.status !== 202 && response.status !== 409) throw new Error(response.status);
            var list = store(self.keys.reported) || [];
            store(self.keys.reported, list.concat([comment.id]));
            box.remove();
            button.hidden = false;
            button.textContent = T.reported;
            button.disabled = true;
            self.announce(T.reported);
          }).catch(function () { self.announce(T.failed); });
      });
      button.hidden = true;
      button.parentNode.appendChild(box);
      select.focus();
    });
    return button;
  };

  Widget.prototype.loadForm = function () {
    var self = this;
    return request("GET", "articles/" + this.slug + "/comment-form/").then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    }).then(function (form) {
      self.form = form;
      self.formLoadedAt = Date.now();
      if (!self.formNode) self.renderForm();
    }).catch(function () { self.announce(T.loadFailed); });
  };

  Widget.prototype.renderForm = function () {
    var self = this;
    if (!this.form.comments_open) {
      this.showClosed();
      return;
    }
    function field(name, label, input) {
      var id = "rg-" + self.slug + "-" + name;
      input.id = id;
      input.name = name;
      input.setAttribute("aria-describedby", id + "-error");
      var error = el("span", { class: "rg-error", id: id + "-error" });
      return el("p", { class: "rg-field rg-field-" + name }, [
        el("label", { for: id, text: label + (input.required ? " *" : "") }), input, error
      ]);
    }
    // The name, email and website lengths are the database's; the text's is the newsroom's.
    this.inputs = {
      body: el("textarea", { rows: 6, required: true, maxlength: this.form.body_max_length }),
      author_name: el("input", { type: "text", required: true, maxlength: 100, autocomplete: "name" }),
      author_email: el("input", { type: "email", required: true, maxlength: 254, autocomplete: "email" }),
      author_url: el("input", { type: "url", maxlength: 200, autocomplete: "url" })
    };
    // The honeypot: hidden from people and from assistive technology, left empty.
    this.honeypot = el("input", { type: "text", name: this.form.honeypot_field, tabindex: "-1",
                                  autocomplete: "off", "aria-hidden": "true" });
    this.title = el("h3", { class: "rg-title", id: "rg-" + this.slug + "-title", text: T.leaveReply });
    this.cancel = el("button", { type: "button", class: "rg-link", hidden: true, text: T.cancelReply,
                                 onclick: function () { self.moveForm(null); } });
    this.submit = el("button", { type: "submit", class: "rg-button", text: T.post });
    this.formError = el("p", { class: "rg-form-error", role: "alert" });
    this.formNode = el("form", { class: "rg-form", novalidate: true, "aria-labelledby": this.title.id }, [
      el("div", { class: "rg-form-head" }, [this.title, this.cancel]),
      el("p", { class: "rg-note", text: T.note }),
      field("body", T.comment, this.inputs.body),
      field("author_name", T.name, this.inputs.author_name),
      field("author_email", T.email, this.inputs.author_email),
      field("author_url", T.website, this.inputs.author_url),
      el("p", { class: "rg-hp", "aria-hidden": "true" }, [this.honeypot]),
      this.formError,
      el("p", { class: "rg-submit" }, [this.submit])
    ]);
    this.formNode.addEventListener("submit", function (event) { event.preventDefault(); self.post(); });
    this.formNode.addEventListener("input", function () { self.saveDraft(); });
    this.restoreDraft();
    this.respond.replaceChildren(this.formNode);
  };

  Widget.prototype.moveForm = function (node, parent) {
    this.parent = parent || null;
    this.title.textContent = parent ? T.replyTo(parent.author_name) : T.leaveReply;
    this.cancel.hidden = !parent;
    this.placeForm(node);
    this.saveDraft();
    this.inputs.body.focus();
  };

  // Under the comment replied to, or, without one (or if it is gone), under the thread.
  Widget.prototype.placeForm = function (node) {
    if (node) node.querySelector("article").after(this.formNode);
    else this.respond.appendChild(this.formNode);
  };

  Widget.prototype.showClosed = function () {
    this.respond.replaceChildren(el("p", { class: "rg-closed", text: T.closed }));
  };

  Widget.prototype.saveDraft = function () {
    // Not the email: it is private, and the page's storage is readable by the page's scripts.
    var draft = { parent: this.parent ? this.parent.id : null };
    ["body", "author_name", "author_url"].forEach(function (name) {
      draft[name] = this.inputs[name].value;
    }, this);
    store(this.keys.draft, draft);
  };

  Widget.prototype.restoreDraft = function () {
    var draft = store(this.keys.draft);
    if (!draft) return;
    Object.keys(this.inputs).forEach(function (name) {
      if (draft[name]) this.inputs[name].value = draft[name];
    }, this);
  };

  Widget.prototype.showErrors = function (errors) {
    Object.keys(this.inputs).forEach(function (name) {
      var input = this.inputs[name];
      var messages = errors[name] || [];
      input.setAttribute("aria-invalid", messages.length ? "true" : "false");
      document.getElementById(input.id + "-error").textContent = messages.join(" ");
    }, this);
    var other = Object.keys(errors).filter(function (key) { return !this.inputs[key]; }, this)
      .map(function (key) { return [].concat(errors[key]).join(" "); });
    this.formError.textContent = other.join(" ");
    var first = Object.keys(this.inputs).filter(function (name) { return errors[name]; })[0];
    if (first) this.inputs[first].focus();
  };

  Widget.prototype.post = function () {
    var self = this;
    var wait = this.form.min_seconds * 1000 - (Date.now() - this.formLoadedAt);
    if (wait > 0) { // a person typed faster than the bot check allows: send a moment later
      this.submit.disabled = true;
      return setTimeout(function () { self.post(); }, wait + 50);
    }
    // Ask once, never block: the draft is checked before the first submit only; whatever it
    // says (or no answer at all), the next submit posts.
    if (this.form.ask_before_posting && !this.asked) {
      this.asked = true;
      this.submit.disabled = true;
      return request("POST", "articles/" + this.slug + "/comment-draft/", { body: this.inputs.body.value })
        .then(function (response) { return response.ok ? response.json() : {}; })
        .catch(function () { return {}; })
        .then(function (advice) { return advice.rephrase ? self.askToRephrase() : self.post(); });
    }
    var body = { form_token: this.form.form_token, parent: this.parent ? this.parent.id : null };
    body[this.form.honeypot_field] = this.honeypot.value;
    Object.keys(this.inputs).forEach(function (name) { body[name] = this.inputs[name].value.trim(); }, this);
    this.submit.disabled = true;
    this.submit.textContent = T.posting;
    this.showErrors({});
    return request("POST", "articles/" + this.slug + "/comments/", body).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        self.answered(response, data);
      });
    }).catch(function () {
      self.formError.textContent = T.failed;
      self.submit.textContent = T.retry;
      self.submit.disabled = false;
    });
  };

  Widget.prototype.askToRephrase = function () {
    var self = this;
    this.submit.disabled = false;
    var box = el("div", { class: "rg-rephrase", role: "alert" }, [
      el("p", { text: T.rephrase }),
      el("button", { type: "button", class: "rg-button", text: T.edit, onclick: function () {
        box.remove();
        self.inputs.body.focus();
      } }),
      el("button", { type: "button", class: "rg-link", text: T.postAnyway, onclick: function () {
        box.remove();
        self.post();
      } })
    ]);
    this.submit.parentNode.before(box);
    this.inputs.body.focus();
  };

  Widget.prototype.answered = function (response, data) {
    var self = this;
    this.submit.textContent = T.post;
    this.submit.disabled = false;
    if (response.status === 202) {
      this.asked = false; // the next comment is a new one: ask again if it reads as abusive
      var mine = store(this.keys.mine) || [];
      store(this.keys.mine, mine.concat([{ id: data.id, receipt: data.receipt, parent: data.parent }]));
      this.inputs.body.value = "";
      this.moveForm(null);
      store(this.keys.draft, null); // after moveForm, which saves the draft
      this.announce(T.awaiting);
      this.loadForm(); // a form token serves one comment
      this.showMine();
    } else if (response.status === 400) {
      if (data.form_token) this.loadForm();
      this.showErrors(data);
    } else if (response.status === 403) {
      this.showClosed();
    } else if (response.status === 409) {
      this.formError.textContent = T.duplicate;
    } else if (response.status === 429) {
      var left = parseInt(response.headers.get("Retry-After"), 10) || 15;
      this.submit.disabled = true;
      var tick = function () {
        if (left <= 0) { self.formError.textContent = ""; self.submit.disabled = false; return; }
        self.formError.textContent = T.tooSoon(left);
        left -= 1;
        setTimeout(tick, 1000);
      };
      tick();
    } else {
      this.formError.textContent = T.failed;
      this.submit.textContent = T.retry;
    }
  };

  // The reader's own comments, in place, until they are decided: from receipts kept here.
  Widget.prototype.showMine = function (fromPoll) {
    var self = this;
    var mine = store(this.keys.mine) || [];
    if (!mine.length) { this.stopPolling(); return Promise.resolve(); }
    return Promise.all(mine.map(function (entry) {
      return request("GET", "comments/" + entry.id + "/?receipt=" + encodeURIComponent(entry.receipt))
        .then(function (response) { // only a 404 forgets it: a 5xx or a 429 is asked again
          return response.ok ? response.json() : (response.status === 404 ? null : undefined);
        })
        .catch(function () { return undefined; }); // offline: keep it and ask again later
    })).then(function (answers) {
      var keep = [];
      answers.forEach(function (comment, i) {
        var old = document.getElementById("rg-comment-" + mine[i].id);
        if (comment === undefined) { keep.push(mine[i]); return; }
        if (!comment || comment.status === "published") {
          if (old && old.classList.contains("rg-mine")) old.remove();
          if (comment) self.published = true;
          return;
        }
        var notice = comment.status === "not_published" ? T.notPublished : T.awaiting;
        if (comment.status === "not_published") self.announce(T.notPublished);
        var node = self.item(comment, 0, notice);
        node.classList.add("rg-mine");
        if (old) old.replaceWith(node);
        else {
          var parent = comment.parent && document.getElementById("rg-comment-" + comment.parent);
          var list = parent && (parent.querySelector(":scope > .rg-replies") ||
                                parent.appendChild(el("ol", { class: "rg-replies" })));
          (list || self.list).appendChild(node);
        }
        if (comment.status === "awaiting_moderation") keep.push(mine[i]);
      });
      // Others may have added a receipt meanwhile (a comment just posted): drop only these.
      var decided = mine.filter(function (entry) { return keep.indexOf(entry) < 0; })
        .map(function (entry) { return entry.id; });
      var now = (store(self.keys.mine) || []).filter(function (entry) {
        return decided.indexOf(entry.id) < 0;
      });
      store(self.keys.mine, now.length ? now : null);
      keep = now;
      // Say what happened: the status still read "awaiting moderation" after publication.
      if (self.published) {
        self.published = false;
        self.announce(T.published);
        self.loadThreads(1);
        return;
      }
      if (!keep.length) self.stopPolling();
      else if (!fromPoll) self.startPolling();
    });
  };

  // While a comment of the reader's awaits a decision: ask every few seconds, cheaply (the
  // thread answers 304 while nothing changed), and not at all while the tab is hidden.
  Widget.prototype.startPolling = function () {
    var self = this;
    if (this.timer) return;
    var started = Date.now();
    var tick = function () {
      var waited = Date.now() - started;
      if (waited > 600000) { self.stopPolling(); return; } // held for long: ask on next visit
      self.timer = setTimeout(tick, waited > 60000 ? 15000 : 3000);
      if (document.hidden || self.polling) return;
      self.polling = true;
      var headers = self.etag ? { "If-None-Match": self.etag } : {};
      request("GET", "articles/" + self.slug + "/comments/?order=" + self.order, null, headers)
        .then(function (response) {
          if (response.status === 200) return self.loadThreads(1);
          return self.showMine(true);
        }).catch(function () {}).then(function () { self.polling = false; });
    };
    this.timer = setTimeout(tick, 3000);
  };

  Widget.prototype.stopPolling = function () {
    clearTimeout(this.timer);
    this.timer = null;
  };

  function start() {
    if (!document.querySelector('link[data-replyguard]')) {
      document.head.appendChild(el("link", { rel: "stylesheet", href: HOST + "/static/replyguard/embed.css",
                                             "data-replyguard": "" }));
    }
    document.querySelectorAll("[data-replyguard-article]").forEach(function (root) {
      if (!root.replyguard) root.replyguard = new Widget(root);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
