// Otklik agent workspace: live updates, tabs, shortcuts, composer. Pages work without
// it; this only makes them quicker. No inline script anywhere (the CSP forbids it).
(function () {
  "use strict";
  var body = document.body;
  var page = body.dataset.page;
  // The person chose whether alerts also reach the desktop.
  var desktop = body.dataset.desktop !== "0" && window.Notification;
  var csrf = body.dataset.csrf;
  var me = body.dataset.me;
  var strings = {};
  try { strings = JSON.parse(document.getElementById("i18n").textContent); } catch (e) { strings = {}; }
  function L(key, args) {
    var s = strings[key] || key;
    Object.keys(args || {}).forEach(function (k) { s = s.split("{" + k + "}").join(args[k]); });
    return s;
  }
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  var toastTimer;
  function toast(text) {
    var t = $("#toast");
    if (!t) return;
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.hidden = true; }, 4000);
  }

  // Dates: the server writes UTC; show them in the workspace's zone and the page's language.
  function ago(d) {
    var min = Math.round((d.getTime() - Date.now()) / 60000);
    try {
      var rtf = new Intl.RelativeTimeFormat(body.dataset.lang, { numeric: "auto" });
      if (Math.abs(min) < 60) return rtf.format(min, "minute");
      if (Math.abs(min) < 48 * 60) return rtf.format(Math.round(min / 60), "hour");
      return rtf.format(Math.round(min / 1440), "day");
    } catch (e) { return ""; }
  }
  function localizeTimes(root) {
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat(body.dataset.lang, { dateStyle: "medium", timeStyle: "short", timeZone: body.dataset.tz || "UTC" });
    } catch (e) {
      try { fmt = new Intl.DateTimeFormat(body.dataset.lang, { dateStyle: "medium", timeStyle: "short" }); } catch (e2) { return; }
    }
    // The tooltip names the zone the times are in (the workspace's), for
    // agents who work in another.
    var zoned = fmt;
    try {
      zoned = new Intl.DateTimeFormat(body.dataset.lang, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: body.dataset.tz || "UTC", timeZoneName: "short" });
    } catch (e) { /* the plain format */ }
    $$("time[datetime]", root).forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) return;
      // "3 hours ago" for how long a customer has been waiting.
      if (t.hasAttribute("data-ago")) { t.title = zoned.format(d); t.textContent = ago(d); return; }
      // A relative time ("12 min left") stays; the moment goes to its tooltip.
      if (t.hasAttribute("data-keep")) { t.title = zoned.format(d); return; }
      t.title = zoned.format(d); t.textContent = fmt.format(d);
    });
  }

  // Tabs: tickets opened recently, kept in this browser across pages.
  var TABS = "otklik.tabs";
  function loadTabs() { try { return JSON.parse(localStorage.getItem(TABS)) || []; } catch (e) { return []; } }
  function saveTabs(tabs) { try { localStorage.setItem(TABS, JSON.stringify(tabs.slice(0, 8))); } catch (e) { /* private mode */ } }
  function renderTabs() {
    var nav = $("#tabs");
    if (!nav) return;
    var current = $("#ticket") && $("#ticket").dataset.number;
    nav.textContent = "";
    loadTabs().forEach(function (t) {
      var tab = document.createElement("span");
      tab.className = "tab";
      if (String(t.n) === current) tab.setAttribute("aria-current", "page");
      var a = document.createElement("a");
      a.href = "/app/t/" + t.n;
      a.textContent = "#" + t.n + " " + t.s;
      a.title = a.textContent;
      var x = document.createElement("button");
      x.type = "button";
      x.textContent = "×";
      x.setAttribute("aria-label", L("js.close_tab") + " #" + t.n);
      x.addEventListener("click", function () {
        saveTabs(loadTabs().filter(function (o) { return o.n !== t.n; }));
        renderTabs();
      });
      tab.appendChild(a);
      tab.appendChild(x);
      nav.appendChild(tab);
    });
  }
  var ticketEl = $("#ticket");
  if (ticketEl) {
    var n = Number(ticketEl.dataset.number);
    var tabs = loadTabs().filter(function (o) { return o.n !== n; });
    tabs.unshift({ n: n, s: ticketEl.dataset.subject.slice(0, 60) });
    saveTabs(tabs);
  }
  renderTabs();
  localizeTimes(document);

  // Quoted history in HTML mail folds like the server folds it in plain text.
  function foldQuotes(root) {
    $$(".body.html", root).forEach(function (b) {
      $$("blockquote, .gmail_quote", b).forEach(function (q) {
        if (q.closest("details.quoted")) return;
        var d = document.createElement("details");
        d.className = "quoted";
        var s = document.createElement("summary");
        s.textContent = L("js.show_quoted");
        q.replaceWith(d);
        d.appendChild(s);
        d.appendChild(q);
      });
    });
  }
  foldQuotes(document);

  // Fetch a page of this app and parse it.
  function getPage(url, options) {
    return fetch(url, options || { credentials: "same-origin" }).then(function (r) {
      return r.text().then(function (html) {
        return { ok: r.ok, status: r.status, doc: new DOMParser().parseFromString(html, "text/html") };
      });
    });
  }
  function swap(doc, selectors) {
    selectors.forEach(function (sel) {
      var now = $(sel), next = $(sel, doc);
      if (now && next) { now.replaceWith(next); localizeTimes(next); foldQuotes(next); }
    });
  }


  // The live supervisor view reloads every 30 s while its box is ticked: a
  // person can stop it (WCAG 2.2.1); without script, a link refreshes.
  var auto = document.getElementById("auto-refresh");
  if (auto) setInterval(function () {
    if (auto.checked && document.visibilityState === "visible") location.reload();
  }, 30000);

  // Inbox: selection, live refresh.
  var selected = -1;
  function rows() { return $$("#rows .row"); }
  function select(i) {
    var r = rows();
    if (!r.length) return;
    selected = Math.max(0, Math.min(r.length - 1, i));
    r.forEach(function (el, j) {
      el.classList.toggle("selected", j === selected);
      if (j === selected) el.setAttribute("aria-current", "true"); else el.removeAttribute("aria-current");
    });
    r[selected].scrollIntoView({ block: "nearest" });
    // Focus follows the highlight, so a screen reader says which ticket it is.
    var link = $(".subject", r[selected]);
    if (link) link.focus({ preventScroll: true });
  }
  function selectedRow() { return rows()[selected]; }
  function wireInbox() {
    var all = $("#select-all");
    if (all) all.addEventListener("change", function () {
      $$("#rows input[name=ids]").forEach(function (c) { c.checked = all.checked; });
    });
  }
  var refreshTimer;
  function refreshInbox() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      var checked = $$("#rows input[name=ids]:checked").map(function (c) { return c.value; });
      var before = rows().map(function (r) { return r.dataset.id; });
      getPage(location.href).then(function (res) {
        if (!res.ok) return;
        swap(res.doc, [".views", "#rows", "#range", ".pager"]);
        $$("#rows input[name=ids]").forEach(function (c) { c.checked = checked.indexOf(c.value) >= 0; });
        rows().forEach(function (r) { if (before.indexOf(r.dataset.id) < 0) r.classList.add("fresh"); });
        // Keep the same ticket selected, wherever it moved.
        if (selected >= 0) {
          var at = rows().map(function (r) { return r.dataset.id; }).indexOf(before[selected]);
          if (at >= 0) select(at); else { selected = -1; }
        }
      });
    }, 300);
  }
  // A shortcut acts on the highlighted row alone, whatever is ticked.
  function bulk(op, extra) {
    var row = selectedRow();
    var form = $("#bulk");
    if (!row || !form) return;
    $$("#rows input[name=ids]").forEach(function (c) { c.checked = false; });
    var box = $("input[name=ids]", row);
    if (box) box.checked = true;
    if (extra) Object.keys(extra).forEach(function (k) { var f = form.elements[k]; if (f) f.value = extra[k]; });
    var b = document.createElement("input");
    b.type = "hidden"; b.name = "op"; b.value = op;
    form.appendChild(b);
    form.submit();
  }

  // Ticket page: properties in place, composer, live thread.
  // One save of the properties at a time: a change made while one is under way is
  // sent after it, from the form as it then stands, so saves never overtake.
  var saving = false, saveAgain = false;
  function refreshTicket() {
    getPage(location.pathname).then(function (res) {
      if (!res.ok) return;
      var props = $("#props");
      var editing = saving || (props && props.contains(document.activeElement));
      swap(res.doc, editing ? ["#thread", ".ticket-head .meta", "#customer"] : ["#thread", ".ticket-head .meta", "#props", "#customer"]);
      wireProps();
    });
  }
  function saveProps() {
    var form = $("#props");
    if (!form) return;
    if (saving) { saveAgain = true; return; }
    saving = true;
    // Only what this person changed is sent: the server leaves other properties
    // as they are, so a colleague's change made meanwhile is not written back.
    getPage(form.action, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf },
      body: changedFields(form)
    }).then(function (res) {
      if (saveAgain) { saving = false; saveAgain = false; saveProps(); return; }
      saving = false;
      if (!res.ok) {
        // Refused: the panel shows the ticket as it is again, so the refused
        // value is neither shown as saved nor sent with the next change.
        form.reset();
        var m = $("#error-message", res.doc);
        toast(m ? m.textContent : String(res.status));
        return;
      }
      swap(res.doc, ["#thread", ".ticket-head .meta", "#props", "#customer"]);
      wireProps();
      toast(L("js.saved"));
    }, function () { saving = false; saveAgain = false; toast(L("js.reconnecting")); });
  }
  function changedFields(form) {
    var p = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.type === "hidden" || el.type === "submit") return;
      var changed = el.type === "checkbox" ? el.checked !== el.defaultChecked
        : el.tagName === "SELECT" ? Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; })
        : el.value !== el.defaultValue;
      if (changed) p.append(el.name, el.type === "checkbox" ? (el.checked ? "on" : "") : el.value);
    });
    return p;
  }
  function wireProps() {
    var form = $("#props");
    if (!form || form.dataset.wired) return;
    form.dataset.wired = "1";
    form.addEventListener("change", function (e) {
      if (e.target.tagName === "SELECT" || e.target.type === "checkbox") saveProps();
    });
    form.addEventListener("submit", function (e) { e.preventDefault(); saveProps(); });
  }
  function setProp(name, value) {
    var form = $("#props");
    if (!form || form.querySelector("fieldset[disabled]")) return;
    var f = form.elements[name];
    if (!f) return;
    if (name === "status" && !$("option[value=" + value + "]", f)) return;
    f.value = value;
    f.dispatchEvent(new Event("change", { bubbles: true }));
  }
  function mode(which) {
    var r = $(which === "public" ? "#mode-public" : "#mode-note");
    if (r) { r.checked = true; r.dispatchEvent(new Event("change", { bubbles: true })); }
    var b = $("#body");
    if (b) b.focus();
  }
  // Formatting: the text is Markdown, which reads well as plain text too. The
  // toolbar and Ctrl+B / Ctrl+I / Ctrl+K wrap the selection; chosen images get
  // a thumbnail and can be put in the text; the preview is rendered (and
  // sanitised) by the server, the images from the files not yet sent.
  function wireFormatting(form, text, files) {
    var bar = $("#fmt", form), preview = $("#preview", form), thumbs = $("#thumbs", form);
    if (!bar) return;
    bar.hidden = false;
    function edit(fn) {
      var a = text.selectionStart, b = text.selectionEnd, v = text.value;
      var r = fn(v.slice(0, a), v.slice(a, b), v.slice(b));
      text.value = r[0] + r[1] + r[2];
      text.focus();
      text.selectionStart = r[0].length + (r[3] || 0);
      text.selectionEnd = r[0].length + r[1].length - (r[4] || 0);
      text.dispatchEvent(new Event("input", { bubbles: true }));
    }
    function wrap(mark) { edit(function (x, s, y) { return [x, mark + (s || L("js.fmt_text")) + mark, y, mark.length, mark.length]; }); }
    function lines(prefix) {
      edit(function (x, s, y) {
        var start = x.lastIndexOf("\n") + 1, head = x.slice(0, start), first = x.slice(start);
        var n = 0;
        var body = (first + s).split("\n").map(function (l) { n++; return (prefix === "1. " ? n + ". " : prefix) + l; }).join("\n");
        return [head, body, y];
      });
    }
    function link() {
      edit(function (x, s, y) {
        var label = s || L("js.fmt_text");
        return [x, "[" + label + "](https://)", y, label.length + 3, 1];
      });
    }
    var acts = { bold: function () { wrap("**"); }, italic: function () { wrap("_"); }, code: function () { wrap("`"); },
      ul: function () { lines("- "); }, ol: function () { lines("1. "); }, quote: function () { lines("> "); }, link: link };
    $$("button[data-fmt]", bar).forEach(function (b) {
      b.addEventListener("click", function () { var f = acts[b.dataset.fmt]; if (f) f(); });
    });
    text.addEventListener("keydown", function (e) {
      if (!(e.ctrlKey || e.metaKey) || e.altKey) return;
      var k = e.key.toLowerCase(), f = { b: acts.bold, i: acts.italic, k: acts.link }[k];
      if (f) { e.preventDefault(); f(); }
    });
    function urls() {
      var m = {};
      Array.prototype.forEach.call(files.files || [], function (f) { if (/^image\//.test(f.type)) m[f.name] = URL.createObjectURL(f); });
      return m;
    }
    function showThumbs() {
      if (!thumbs) return;
      thumbs.textContent = "";
      var m = urls();
      Array.prototype.forEach.call(files.files || [], function (f) {
        var li = document.createElement("li");
        if (m[f.name]) {
          var img = document.createElement("img");
          img.src = m[f.name];
          img.alt = f.name;
          li.appendChild(img);
          var put = document.createElement("button");
          put.type = "button";
          put.className = "link";
          put.textContent = L("js.fmt_insert_image");
          put.addEventListener("click", function () {
            edit(function (x, s, y) { return [x, "![" + (s || f.name) + "](attachment:" + f.name + ")", y]; });
          });
          li.appendChild(put);
        }
        var name = document.createElement("span");
        name.textContent = f.name;
        li.appendChild(name);
        thumbs.appendChild(li);
      });
      thumbs.hidden = !thumbs.children.length;
    }
    files.addEventListener("change", showThumbs);
    form.addEventListener("drop", function () { setTimeout(showThumbs, 0); });
    var toggle = $("#fmt-preview", bar);
    if (toggle && preview) toggle.addEventListener("click", function () {
      var on = toggle.getAttribute("aria-pressed") !== "true";
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
      if (!on) { preview.hidden = true; text.hidden = false; text.focus(); return; }
      var data = new URLSearchParams();
      data.set("_csrf", csrf);
      data.set("body", text.value);
      fetch("/app/preview", { method: "POST", body: data, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          preview.innerHTML = html;
          var m = urls();
          $$("img[data-file]", preview).forEach(function (i) { if (m[i.dataset.file]) i.src = m[i.dataset.file]; });
          preview.hidden = false;
          text.hidden = true;
        })
        .catch(function () { toggle.setAttribute("aria-pressed", "false"); toast(L("js.fmt_preview_failed")); });
    });
    form.addEventListener("submit", function () { if (preview) { preview.hidden = true; text.hidden = false; } });
  }

  function wireComposer(socketSend) {
    var form = $("#composer");
    if (!form) return;
    var body = $("#body"), files = $("#files");
    function syncMode() {
      var note = $("#mode-note");
      form.classList.toggle("note-mode", !!(note && note.checked));
    }
    form.addEventListener("change", syncMode);
    syncMode();
    var lastTyping = 0;
    body.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping > 2000) { lastTyping = now; socketSend({ t: "typing", ticket: ticketEl.dataset.ticket }); }
    });
    body.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
    });
    ["dragenter", "dragover"].forEach(function (t) {
      form.addEventListener(t, function (e) { e.preventDefault(); form.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      form.addEventListener(t, function () { form.classList.remove("dragging"); });
    });
    form.addEventListener("drop", function (e) {
      e.preventDefault();
      if (!e.dataTransfer || !e.dataTransfer.files.length) return;
      var dt = new DataTransfer();
      Array.prototype.forEach.call(files.files, function (f) { dt.items.add(f); });
      Array.prototype.forEach.call(e.dataTransfer.files, function (f) { dt.items.add(f); });
      files.files = dt.files;
      toast(L("js.files", { n: dt.files.length }));
    });
    wireFormatting(form, body, files);
    // A mention goes into a note: "@handle " at the cursor.
    var mention = $("#mention");
    if (mention) mention.addEventListener("change", function () {
      if (!mention.value) return;
      var note = $("#mode-note");
      if (note && !note.checked) { note.checked = true; note.dispatchEvent(new Event("change", { bubbles: true })); }
      var at = body.selectionStart || body.value.length, text = mention.value + " ";
      body.value = body.value.slice(0, at) + text + body.value.slice(at);
      mention.value = "";
      body.focus();
      body.selectionStart = body.selectionEnd = at + text.length;
    });
    // Knowledge-base suggestions: a link or the text, at the cursor, in one click.
    Array.prototype.forEach.call(document.querySelectorAll("button.insert"), function (b) {
      b.addEventListener("click", function () {
        var at = body.selectionStart || body.value.length;
        var text = b.dataset.insert;
        body.value = body.value.slice(0, at) + text + body.value.slice(at);
        body.focus();
        body.selectionStart = body.selectionEnd = at + text.length;
      });
    });
    // Macros: pick one by any word of its name (the list filters as you
    // type); its changes are made on the server, its text lands at the cursor.
    var macroQ = $("#macro-q"), macroForm = $("#macro-form");
    function applyMacro(e) {
      if (e) e.preventDefault();
      if (!macroQ.value) return;
      var data = new URLSearchParams();
      data.set("_csrf", csrf);
      data.set("macro", macroQ.value);
      fetch(macroForm.action, {
        method: "POST", credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
        body: data
      }).then(function (res) {
        if (!res.ok) { toast(L("js.macro_failed")); return null; }
        return res.json();
      }).then(function (m) {
        if (!m) return;
        macroQ.value = "";
        if (m.visibility === "internal" || m.visibility === "public") {
          var r = $(m.visibility === "public" ? "#mode-public" : "#mode-note");
          if (r) { r.checked = true; r.dispatchEvent(new Event("change", { bubbles: true })); }
        }
        if (m.body) {
          var at = body.selectionStart || body.value.length;
          body.value = body.value.slice(0, at) + m.body + body.value.slice(at);
          body.focus();
          body.selectionStart = body.selectionEnd = at + m.body.length;
        }
        refreshTicket();
      }, function () { toast(L("js.reconnecting")); });
    }
    if (macroQ && macroForm) {
      macroForm.addEventListener("submit", applyMacro);
      macroQ.addEventListener("keydown", function (e) { if (e.key === "Enter") applyMacro(e); });
      // Picking from the list (not typing) applies at once.
      macroQ.addEventListener("input", function (e) {
        if (e instanceof InputEvent && e.inputType !== "insertReplacementText") return;
        var known = Array.prototype.some.call($("#macro-list").options, function (o) { return o.value === macroQ.value; });
        if (known) applyMacro();
      });
    }
  }

  // Alerts not yet seen counted in the tab's title, "(2) Inbox", until the
  // agent comes back to the page (a key, a click, the tab shown again).
  var baseTitle = document.title, unseenCount = 0;
  function unseen(n) {
    unseenCount = n ? unseenCount + n : 0;
    document.title = (unseenCount ? "(" + unseenCount + ") " : "") + baseTitle;
  }
  ["keydown", "mousedown"].forEach(function (k) { document.addEventListener(k, function () { if (unseenCount) unseen(0); }, true); });
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible" && unseenCount && document.hasFocus()) unseen(0); });

  // Live: one socket per page; reconnects with a growing pause.
  var socket, retry = 1000, queue = [];
  function send(msg) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(msg));
    else queue.push(msg);
  }
  function onMessage(m) {
    var alerts = { assigned: "js.assigned", invited: "js.invited", replied: "js.replied", woke: "js.woke", mentioned: "js.mentioned", reminder: "js.reminder", followed: "js.followed", side: "js.side", low_rating: "js.low_rating" };
    if (m.t === "change" || alerts[m.t]) {
      if (page === "inbox") refreshInbox();
      if (ticketEl && m.ticket === ticketEl.dataset.ticket) refreshTicket();
    }
    if (m.t === "notified" || alerts[m.t]) {
      var text = "#" + m.number + " " + m.subject;
      var what = m.t === "notified" ? m.text : L(alerts[m.t]);
      toast(what + ": " + text);
      unseen(1);
      if (desktop && Notification.permission === "granted") {
        try { new Notification(what, { body: text, tag: "otklik-" + m.ticket }); } catch (e) { /* not allowed here */ }
      }
    }
    if (m.t === "presence" && ticketEl && m.ticket === ticketEl.dataset.ticket) {
      var p = $("#presence");
      var typing = m.people.filter(function (x) { return x.typing; }).map(function (x) { return x.name; });
      var viewing = m.people.filter(function (x) { return !x.typing; }).map(function (x) { return x.name; });
      var parts = [];
      if (typing.length) parts.push(L("js.typing", { names: typing.join(", ") }));
      if (viewing.length) parts.push(L("js.viewing", { names: viewing.join(", ") }));
      p.textContent = parts.join(" · ");
      p.hidden = !parts.length;
    }
    if (m.t === "reload") { if (page === "inbox") refreshInbox(); else if (ticketEl) refreshTicket(); }
    if (m.t === "call") screenPop(m);
    if (m.t === "alert") toast(L("js.webhook_disabled") + " " + m.text);
    if (m.t === "trend") { toast(L("js.trend") + ": " + m.text); unseen(1); }
    if (m.t === "call_end") { var pop = $("#call-pop"); if (pop && pop.dataset.call === m.call) pop.hidden = true; }
  }
  // A ringing call: who it is, their open tickets, a way to their profile.
  function screenPop(m) {
    var pop = $("#call-pop");
    if (!pop) return;
    pop.dataset.call = m.call;
    var who = m.customer ? m.customer.name + " · " + m.from : m.from;
    $("#call-who", pop).textContent = who;
    $("#call-line", pop).textContent = L("js.call_line", { line: m.line });
    var list = $("#call-tickets", pop);
    list.textContent = "";
    (m.tickets || []).forEach(function (t) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = "/app/t/" + t.number;
      a.textContent = "#" + t.number + " " + t.subject;
      li.appendChild(a);
      list.appendChild(li);
    });
    var profile = $("#call-profile", pop);
    profile.hidden = !m.customer;
    if (m.customer) profile.href = "/app/customers/" + m.customer.id;
    $("#call-none", pop).hidden = !!(m.tickets && m.tickets.length);
    pop.hidden = false;
    $("#call-close", pop).focus();
    if (window.Notification && Notification.permission === "granted") {
      try { new Notification(L("js.call"), { body: who, tag: "otklik-call-" + m.call }); } catch (e) { /* not allowed here */ }
    }
  }
  var callClose = $("#call-close");
  if (callClose) callClose.addEventListener("click", function () { $("#call-pop").hidden = true; });
  function connect() {
    if (!window.WebSocket || !page) return;
    socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/app/ws");
    socket.addEventListener("open", function () {
      retry = 1000;
      body.dataset.live = "1";
      if (ticketEl) socket.send(JSON.stringify({ t: "view", ticket: ticketEl.dataset.ticket }));
      while (queue.length) socket.send(JSON.stringify(queue.shift()));
    });
    socket.addEventListener("message", function (e) {
      try { onMessage(JSON.parse(e.data)); } catch (err) { /* ignore a malformed message */ }
    });
    socket.addEventListener("close", function () {
      body.dataset.live = "";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  // Presence: no input for ten minutes turns the agent away; input brings them back.
  var IDLE_MS = 600000, idle = false, lastInput = Date.now();
  ["keydown", "pointerdown", "scroll", "focus"].forEach(function (name) {
    window.addEventListener(name, function () {
      lastInput = Date.now();
      if (idle) { idle = false; send({ t: "active" }); }
    }, { passive: true, capture: true });
  });
  setInterval(function () {
    if (!idle && Date.now() - lastInput > IDLE_MS) { idle = true; send({ t: "idle" }); }
  }, 30000);

  // `s` solves on its second press within four seconds: one stray key
  // solves nothing.
  var solveArmed = null;
  function solveTwice(id, number, solve) {
    if (solveArmed === id) { solveArmed = null; solve(); return; }
    solveArmed = id;
    toast(L("js.solve_again", { number: number }));
    setTimeout(function () { if (solveArmed === id) solveArmed = null; }, 4000);
  }
  // Keyboard shortcuts.
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    var typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (e.key === "Escape" && typing) { t.blur(); return; }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    var k = e.key;
    var handled = true;
    if (k === "/") { var s = $("#search"); if (s) s.focus(); }
    else if (k === "?") { var d = $("#keys"); if (d && !d.open) d.showModal(); }
    else if (page === "inbox" && (k === "j" || k === "k")) select(selected < 0 ? 0 : selected + (k === "j" ? 1 : -1));
    else if (page === "inbox" && (k === "o" || k === "Enter") && selectedRow()) location.href = $(".subject", selectedRow()).href;
    else if (page === "inbox" && k === "c") location.href = "/app/new";
    else if (page === "inbox" && k === "a" && selectedRow()) bulk("assign_me");
    else if (page === "inbox" && k === "s" && selectedRow()) solveTwice(selectedRow().dataset.id, selectedRow().dataset.number, function () { bulk("status", { status_value: "solved" }); });
    else if (ticketEl && k === "r") mode("public");
    else if (ticketEl && k === "m") { var mq = $("#macro-q"); if (mq) mq.focus(); }
    else if (ticketEl && k === "n") mode("note");
    else if (ticketEl && k === "s") solveTwice(location.pathname, location.pathname.split("/").pop(), function () { setProp("status", "solved"); });
    else if (ticketEl && k === "a") setProp("assignee", me);
    else handled = false;
    if (handled) e.preventDefault();
  });
  // The article editor's preview follows the text, rendered by the server as
  // readers will see it (a pause in typing, then one request; the newest wins).
  function wireKbPreview() {
    var text = $("#kb-body"), title = $("#kb-title"), out = $("#kb-preview");
    if (!text || !out) return;
    var timer = null, seq = 0;
    function render() {
      var n = ++seq;
      var form = new URLSearchParams();
      form.set("_csrf", csrf);
      form.set("title", title ? title.value : "");
      form.set("body", text.value);
      fetch("/app/admin/kb/preview", { method: "POST", body: form, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null && n === seq) out.innerHTML = html; })
        .catch(function () {});
    }
    function later() { clearTimeout(timer); timer = setTimeout(render, 300); }
    Array.prototype.forEach.call(document.querySelectorAll("button.insert-md"), function (b) {
      b.addEventListener("click", function () {
        var at = text.selectionStart || text.value.length;
        text.value = text.value.slice(0, at) + "\n" + b.dataset.insert + "\n" + text.value.slice(at);
        text.focus();
        later();
      });
    });
    text.addEventListener("input", later);
    if (title) title.addEventListener("input", later);
  }

  var keysOpen = $("#keys-open");
  if (keysOpen) keysOpen.addEventListener("click", function () { $("#keys").showModal(); });

  var notify = $("#notify-enable");
  if (notify && desktop && Notification.permission === "default") {
    notify.hidden = false;
    notify.addEventListener("click", function () {
      Notification.requestPermission().then(function () { notify.hidden = true; });
    });
  }

  // "Copy" buttons: the named field's text to the clipboard (selected as well,
  // for browsers that refuse the clipboard).
  document.querySelectorAll("[data-copy]").forEach(function (b) {
    b.addEventListener("click", function () {
      var f = document.getElementById(b.dataset.copy);
      if (!f) return;
      f.select();
      if (navigator.clipboard) navigator.clipboard.writeText(f.value).then(function () { toast(b.textContent + " ✓"); });
    });
  });

  if (page === "inbox") wireInbox();
  if (ticketEl) { wireProps(); wireComposer(send); }
  if (page === "kb-edit") wireKbPreview();
  connect();
  window.otklik = { toast: toast, send: send };
})();
