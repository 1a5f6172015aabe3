// Otklik chat inside its iframe: only the public client API (/widget/v1/{key}/…)
// and its websocket. A client id per message: a retried send is never doubled;
// unsent messages wait in an outbox (kept for the tab) until the network is
// back; after a reconnect the history after the last message held is read.
(function () {
  "use strict";
  var body = document.body;
  var key = body.getAttribute("data-key");
  var base = "/widget/v1/" + key;
  var T = {
    en: {
      open: "Open chat", close: "Close chat", send: "Send", placeholder: "Write a message…",
      online: "We are online", wait: "We usually reply in about {m} min", offline: "We are offline right now",
      offline_ask: "Leave your email and we will answer there.", email: "Email", name: "Name", phone: "Phone",
      save: "Save", start: "Start chat", typing: "{n} is typing…", agent: "Support", you: "You",
      sending: "Sending…", sent: "Sent", read: "Read", failed: "Not sent — will retry", emoji: "Emoji", attach: "Attach a file",
      saved_email: "Thank you — answers will also reach {e}.", required: "required", error: "Something went wrong: {e}", rated: "Thank you for your rating!", comment: "Add a comment"
    },
    ru: {
      open: "Открыть чат", close: "Закрыть чат", send: "Отправить", placeholder: "Напишите сообщение…",
      online: "Мы на связи", wait: "Обычно отвечаем примерно за {m} мин", offline: "Сейчас мы не в сети",
      offline_ask: "Оставьте почту — ответим туда.", email: "Почта", name: "Имя", phone: "Телефон",
      save: "Сохранить", start: "Начать чат", typing: "{n} печатает…", agent: "Поддержка", you: "Вы",
      sending: "Отправляется…", sent: "Отправлено", read: "Прочитано", failed: "Не отправлено — повторим",
      emoji: "Эмодзи", attach: "Прикрепить файл", saved_email: "Спасибо — ответы придут и на {e}.", required: "обязательно",
      error: "Что-то пошло не так: {e}", rated: "Спасибо за оценку!", comment: "Добавить комментарий"
    },
    th: {
      open: "เปิดแชท", close: "ปิดแชท", send: "ส่ง", placeholder: "พิมพ์ข้อความ…",
      online: "เราออนไลน์อยู่", wait: "โดยปกติเราตอบภายในประมาณ {m} นาที", offline: "ขณะนี้เราออฟไลน์",
      offline_ask: "ฝากอีเมลไว้ แล้วเราจะตอบกลับทางอีเมล", email: "อีเมล", name: "ชื่อ", phone: "โทรศัพท์",
      save: "บันทึก", start: "เริ่มแชท", typing: "{n} กำลังพิมพ์…", agent: "ฝ่ายบริการ", you: "คุณ",
      sending: "กำลังส่ง…", sent: "ส่งแล้ว", read: "อ่านแล้ว", failed: "ยังส่งไม่ได้ — จะลองใหม่",
      emoji: "อีโมจิ", attach: "แนบไฟล์", saved_email: "ขอบคุณ — คำตอบจะส่งถึง {e} ด้วย", required: "จำเป็น",
      error: "เกิดข้อผิดพลาด: {e}", rated: "ขอบคุณสำหรับคะแนน!", comment: "เพิ่มความคิดเห็น"
    }
  };
  var lang = (body.getAttribute("data-lang") || "en").slice(0, 2).toLowerCase();
  if (!T[lang]) lang = "en";
  function t(k, args) {
    var s = T[lang][k] || T.en[k] || k;
    for (var a in args || {}) s = s.replace("{" + a + "}", args[a]);
    return s;
  }
  var EMOJI = ["😀", "😊", "😂", "😍", "🙏", "👍", "👎", "👋", "🎉", "❤️", "🤔", "😢",
    "😡", "😮", "🙂", "😉", "👌", "✅", "❌", "⏳", "📦", "🚚", "💳", "📞"];

  var st = {
    token: "", cfg: null, last: null, seen: {}, ws: null, open: false, unread: 0,
    backoff: 1000, typingAt: 0, parent: null, page_url: null, page_title: null,
    outbox: [], flushing: false, started: false, email: null, lastAgent: null
  };
  var box = "otklik-outbox:" + key;
  try { st.outbox = JSON.parse(sessionStorage.getItem(box) || "[]"); } catch (e) { st.outbox = []; }
  function keep() {
    try { sessionStorage.setItem(box, JSON.stringify(st.outbox)); } catch (e) { /* not kept */ }
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var a in attrs || {}) e.setAttribute(a, attrs[a]);
    if (text != null) e.textContent = text;
    return e;
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  }

  // The frame: a launcher, and a panel that opens over it.
  var launcher = el("button", { type: "button", "class": "launcher", "aria-expanded": "false", "aria-controls": "panel", "aria-label": t("open") });
  launcher.appendChild(el("span", { "aria-hidden": "true", "class": "bubble-icon" }, "💬"));
  var badge = el("span", { "class": "badge", "aria-hidden": "true" });
  badge.hidden = true;
  launcher.appendChild(badge);
  var panel = el("section", { id: "panel", "class": "panel", role: "dialog", "aria-labelledby": "title" });
  panel.hidden = true;
  var head = el("header", { "class": "head" });
  var title = el("h1", { id: "title" }, "");
  var status = el("p", { "class": "status", role: "status" });
  var closeBtn = el("button", { type: "button", "class": "close", "aria-label": t("close") }, "×");
  head.appendChild(title); head.appendChild(status); head.appendChild(closeBtn);
  var log = el("ol", { "class": "log", role: "log", "aria-live": "polite", tabindex: "0" });
  var typing = el("p", { "class": "typing", "aria-live": "polite" });
  var notice = el("p", { "class": "notice", role: "alert" });
  notice.hidden = true;
  var pre = el("form", { "class": "form prechat" });
  pre.hidden = true;
  var off = el("form", { "class": "form offline" });
  off.hidden = true;
  var comp = el("form", { "class": "composer" });
  var emojiBtn = el("button", { type: "button", "class": "emoji-btn", "aria-expanded": "false", "aria-controls": "emoji", "aria-label": t("emoji") }, "😊");
  var emoji = el("div", { id: "emoji", "class": "emoji", role: "group", "aria-label": t("emoji") });
  emoji.hidden = true;
  EMOJI.forEach(function (e) {
    var b = el("button", { type: "button" }, e);
    b.addEventListener("click", function () {
      var s = text.selectionStart || text.value.length;
      text.value = text.value.slice(0, s) + e + text.value.slice(text.selectionEnd || s);
      text.focus();
    });
    emoji.appendChild(b);
  });
  var attach = el("button", { type: "button", "class": "attach", "aria-label": t("attach") }, "📎");
  var fileIn = el("input", { type: "file", "class": "visually-hidden", tabindex: "-1", "aria-hidden": "true" });
  var text = el("textarea", { id: "text", rows: "2", maxlength: "10000", placeholder: t("placeholder"), "aria-label": t("placeholder") });
  var sendBtn = el("button", { type: "submit", "class": "send" }, t("send"));
  comp.appendChild(emojiBtn); comp.appendChild(attach); comp.appendChild(fileIn);
  comp.appendChild(text); comp.appendChild(sendBtn);
  [head, log, typing, notice, pre, off, emoji, comp].forEach(function (x) { panel.appendChild(x); });
  body.appendChild(panel);
  body.appendChild(launcher);

  function toParent(msg) {
    if (st.parent && window.parent !== window) window.parent.postMessage(msg, st.parent);
  }
  function setOpen(open) {
    st.open = open;
    panel.hidden = !open;
    launcher.hidden = open;
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    toParent({ otklik: open ? "open" : "close" });
    if (open) {
      st.unread = 0;
      badge.hidden = true;
      (pre.hidden ? text : pre.querySelector("input") || text).focus();
      markRead();
    } else {
      launcher.focus();
    }
  }
  launcher.addEventListener("click", function () { setOpen(true); });
  closeBtn.addEventListener("click", function () { setOpen(false); });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && st.open) setOpen(false);
  });
  emojiBtn.addEventListener("click", function () {
    emoji.hidden = !emoji.hidden;
    emojiBtn.setAttribute("aria-expanded", emoji.hidden ? "false" : "true");
  });

  function showError(e) {
    notice.textContent = t("error", { e: String(e && e.detail || e && e.message || e) });
    notice.hidden = false;
  }

  function api(method, path, data) {
    var h = { "content-type": "application/json" };
    if (st.token) h.authorization = "Bearer " + st.token;
    return fetch(base + path, { method: method, headers: h, body: data ? JSON.stringify(data) : undefined })
      .then(function (r) {
        if (r.status === 204) return null;
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (!r.ok) { var err = new Error(j.detail || r.statusText); err.status = r.status; err.detail = j.detail; throw err; }
          return j;
        });
      });
  }

  function time(iso) {
    try { return new Date(iso).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" }); } catch (e) { return ""; }
  }
  // One message in the log; `pending` is a visitor's message still leaving.
  function render(m, pending) {
    if (m.id && st.seen[m.id]) return;
    var mine = m.author && m.author.kind === "visitor";
    if (mine && !pending && m.client_id) {
      // Our own message coming back before its send was answered.
      var own = log.querySelector('li[data-client="' + CSS.escape(m.client_id) + '"]');
      if (own) { own.setAttribute("data-id", m.id); st.seen[m.id] = true; setMeta(own, "sent"); return; }
    }
    if (m.id) st.seen[m.id] = true;
    var li = el("li", { "class": "msg " + (mine ? "mine" : (m.author && m.author.kind) || "agent") });
    if (m.id) li.setAttribute("data-id", m.id);
    if (m.client_id) li.setAttribute("data-client", m.client_id);
    if (!mine) li.appendChild(el("span", { "class": "who" }, (m.author && m.author.name) || t("agent")));
    li.appendChild(el("p", { "class": "text" }, m.text));
    (m.attachments || []).forEach(function (a) {
      var link = el("a", { "class": "file", href: base + "/files/" + a.id + "?token=" + encodeURIComponent(st.token), target: "_blank", rel: "noopener" }, "📎 " + a.filename);
      li.appendChild(link);
    });
    var meta = el("span", { "class": "meta" }, (m.created_at ? time(m.created_at) : "") + (mine ? " · " + t(pending ? "sending" : "sent") : ""));
    li.appendChild(meta);
    // Tap-to-reply buttons belong to the newest message only.
    Array.prototype.forEach.call(log.querySelectorAll(".quick"), function (q) { q.remove(); });
    if (!mine && m.quick_replies && m.quick_replies.length) {
      var quick = el("div", { "class": "quick", role: "group" });
      m.quick_replies.forEach(function (r) {
        var b = el("button", { type: "button" }, r);
        b.addEventListener("click", function () { send(r); });
        quick.appendChild(b);
      });
      li.appendChild(quick);
    }
    if (!mine && m.survey) li.appendChild(rating(m.survey));
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    if (m.id && !pending && (!st.last || m.id > st.last)) st.last = m.id;
    if (!mine && m.id) {
      st.lastAgent = m.id;
      if (!st.open) { st.unread += 1; badge.textContent = String(st.unread); badge.hidden = false; }
      else markRead();
    }
  }
  // A tap POSTs the score to the survey's page; failing that, opens it.
  function rating(s) {
    var box = el("div", { "class": "rate", role: "group" });
    var row = el("div", { "class": "scores" });
    var note = el("p", { role: "status" }, s.score != null ? t("rated") : "");
    var path = s.url.slice(s.url.indexOf("/s/"));
    function pick(b, n) {
      fetch(path, { method: "POST", body: new URLSearchParams({ score: n }) }).then(function (r) {
        if (!r.ok) throw r;
        [].forEach.call(row.children, function (o) { o.setAttribute("aria-pressed", o === b); });
        note.textContent = t("rated");
      }).catch(function () { window.open(s.url + "?score=" + n, "_blank", "noopener"); });
    }
    for (var n = s.low; n <= s.high; n++) {
      var b = el("button", { type: "button", "aria-pressed": s.score === n }, n);
      b.addEventListener("click", pick.bind(null, b, n));
      row.appendChild(b);
    }
    [row, note, el("a", { href: s.url, target: "_blank", rel: "noopener" }, t("comment"))].forEach(function (c) { box.appendChild(c); });
    return box;
  }
  function setMeta(li, key) {
    var meta = li.querySelector(".meta");
    if (meta) meta.textContent = meta.textContent.split(" · ")[0] + " · " + t(key);
  }

  function markRead() {
    if (!st.open || !st.lastAgent || document.visibilityState === "hidden") return;
    var up = st.lastAgent;
    st.lastAgent = null;
    if (st.ws && st.ws.readyState === 1) st.ws.send(JSON.stringify({ type: "read", up_to: up }));
    else api("POST", "/read", { up_to: up }).catch(function () { /* read later */ });
  }
  document.addEventListener("visibilitychange", markRead);

  function ensureVisitor(extra) {
    if (st.token) return Promise.resolve();
    var v = extra || {};
    v.lang = lang;
    if (st.page_url) v.page_url = st.page_url.slice(0, 2000);
    if (st.page_title) v.page_title = st.page_title.slice(0, 300);
    return api("POST", "/visitors", v).then(function (r) {
      st.token = r.visitor_token;
      toParent({ otklik: "token", token: st.token });
      connect();
    });
  }

  // Sends the outbox in order; a passing failure waits and tries again with the
  // same client ids, so the server keeps each message once.
  function flush() {
    if (st.flushing || !st.outbox.length || !st.token) return;
    st.flushing = true;
    var item = st.outbox[0];
    api("POST", "/messages", { client_id: item.client_id, text: item.text }).then(function (r) {
      st.outbox.shift();
      keep();
      var li = log.querySelector('li[data-client="' + CSS.escape(item.client_id) + '"]');
      if (li) { li.setAttribute("data-id", r.id); setMeta(li, "sent"); }
      st.seen[r.id] = true;
      if (!st.last || r.id > st.last) st.last = r.id;
      st.flushing = false;
      notice.hidden = true;
      flush();
    }, function (e) {
      st.flushing = false;
      var li = log.querySelector('li[data-client="' + CSS.escape(item.client_id) + '"]');
      if (e.status && e.status >= 400 && e.status < 500 && e.status !== 429 && e.status !== 401) {
        st.outbox.shift();
        keep();
        showError(e);
        if (li) setMeta(li, "failed");
        flush();
        return;
      }
      if (li) setMeta(li, "failed");
      setTimeout(flush, Math.min(st.backoff *= 2, 30000));
    });
  }

  function send(body) {
    var item = { client_id: uuid(), text: body };
    st.outbox.push(item);
    keep();
    render({ client_id: item.client_id, text: body, author: { kind: "visitor" }, created_at: new Date().toISOString() }, true);
    ensureVisitor().then(flush, showError);
    maybeAskEmail();
  }

  attach.addEventListener("click", function () { fileIn.click(); });
  fileIn.addEventListener("change", function () {
    var f = fileIn.files && fileIn.files[0];
    if (!f) return;
    fileIn.value = "";
    var id = uuid();
    var note = text.value.trim();
    text.value = "";
    render({ client_id: id, text: note, attachments: [{ id: "", filename: f.name }], author: { kind: "visitor" } }, true);
    ensureVisitor().then(function () {
      var fd = new FormData();
      fd.append("client_id", id);
      if (note) fd.append("text", note);
      fd.append("file", f, f.name);
      return fetch(base + "/files", { method: "POST", headers: { authorization: "Bearer " + st.token }, body: fd })
        .then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (j) {
            if (!r.ok) throw new Error(j.detail || r.statusText);
            return j;
          });
        });
    }).then(function (r) {
      var li = log.querySelector('li[data-client="' + CSS.escape(id) + '"]');
      if (li) { li.setAttribute("data-id", r.id); setMeta(li, "sent"); }
      st.seen[r.id] = true;
    }, function (e) {
      var li = log.querySelector('li[data-client="' + CSS.escape(id) + '"]');
      if (li) setMeta(li, "failed");
      showError(e);
    });
  });

  comp.addEventListener("submit", function (e) {
    e.preventDefault();
    var v = text.value.trim();
    if (!v) return;
    text.value = "";
    emoji.hidden = true;
    send(v);
  });
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); comp.requestSubmit(); }
  });
  text.addEventListener("input", function () {
    var now = Date.now();
    if (st.ws && st.ws.readyState === 1 && now - st.typingAt > 2000) {
      st.typingAt = now;
      st.ws.send(JSON.stringify({ type: "typing" }));
    }
  });

  function maybeAskEmail() {
    var c = st.cfg;
    if (!c || !c.offline_email || c.agents_online > 0 || st.email || !off.hidden) return;
    off.hidden = false;
  }
  function buildOffline() {
    off.appendChild(el("p", {}, t("offline_ask")));
    var lab = el("label", {}, t("email") + " ");
    var inp = el("input", { type: "email", name: "email", required: "", autocomplete: "email", maxlength: "254" });
    lab.appendChild(inp);
    off.appendChild(lab);
    off.appendChild(el("button", { type: "submit" }, t("save")));
    off.addEventListener("submit", function (e) {
      e.preventDefault();
      var email = inp.value.trim();
      ensureVisitor().then(function () { return api("PATCH", "/visitor", { email: email }); }).then(function () {
        st.email = email;
        off.hidden = true;
        notice.textContent = t("saved_email", { e: email });
        notice.hidden = false;
      }, showError);
    });
  }

  function buildPrechat(fields) {
    var types = { name: "text", email: "email", phone: "tel" };
    var auto = { name: "name", email: "email", phone: "tel" };
    fields.forEach(function (f) {
      var lab = el("label", {}, t(f.field) + (f.required ? " (" + t("required") + ")" : "") + " ");
      var a = { type: types[f.field], name: f.field, autocomplete: auto[f.field], maxlength: f.field === "name" ? "200" : "254" };
      if (f.required) a.required = "";
      lab.appendChild(el("input", a));
      pre.appendChild(lab);
    });
    pre.appendChild(el("button", { type: "submit" }, t("start")));
    pre.addEventListener("submit", function (e) {
      e.preventDefault();
      var v = {};
      fields.forEach(function (f) {
        var x = pre.querySelector('input[name="' + f.field + '"]').value.trim();
        if (x) v[f.field] = x;
      });
      if (v.email) st.email = v.email;
      ensureVisitor(v).then(function () {
        pre.hidden = true;
        comp.hidden = false;
        text.focus();
        flush();
      }, showError);
    });
  }

  function catchUp() {
    var q = st.last ? "?limit=200&after=" + encodeURIComponent(st.last) : "?limit=200";
    return api("GET", "/messages" + q).then(function (r) {
      (r.items || []).forEach(function (m) { render(m, false); });
      if (r.items && r.items.length === 200) return catchUp();
    });
  }

  var typingTimer = null;
  function connect() {
    if (!st.token || (st.ws && st.ws.readyState <= 1)) return;
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + base + "/ws?token=" + encodeURIComponent(st.token));
    st.ws = ws;
    ws.onopen = function () { st.backoff = 1000; catchUp().then(flush, function () { /* next reconnect */ }); };
    ws.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (x) { return; }
      if (m.type === "message") { render(m.message, false); typing.textContent = ""; }
      else if (m.type === "typing") {
        typing.textContent = m.typing ? t("typing", { n: m.name || t("agent") }) : "";
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typing.textContent = ""; }, 6000);
      } else if (m.type === "read" && m.by === "agent") {
        log.querySelectorAll("li.mine[data-id]").forEach(function (li) { setMeta(li, "read"); });
      } else if (m.type === "resync") { catchUp(); }
    };
    ws.onclose = function () {
      st.ws = null;
      setTimeout(connect, Math.min(st.backoff *= 2, 30000));
    };
  }
  window.addEventListener("online", function () { st.backoff = 1000; connect(); flush(); });

  function start() {
    if (st.started) return;
    st.started = true;
    api("GET", "/config").then(function (c) {
      st.cfg = c;
      if (/^#[0-9a-f]{6}$/i.test(c.color)) document.documentElement.style.setProperty("--accent", c.color);
      title.textContent = c.name;
      status.textContent = c.agents_online > 0
        ? (c.expected_wait_s ? t("wait", { m: Math.max(1, Math.round(c.expected_wait_s / 60)) }) : t("online"))
        : t("offline");
      var greet = (c.greeting || {})[lang] || (c.greeting || {}).en;
      if (greet && !st.token) render({ text: greet, author: { kind: "bot", name: c.name } }, false);
      buildOffline();
      // Messages that had not left when the page was left: shown, and sent.
      st.outbox.forEach(function (item) {
        render({ client_id: item.client_id, text: item.text, author: { kind: "visitor" } }, true);
      });
      if (!st.token && c.prechat && c.prechat.length) {
        buildPrechat(c.prechat);
        pre.hidden = false;
        comp.hidden = true;
      }
      if (st.token) {
        api("GET", "/visitor").then(function (v) { st.email = v.email; }, function (e) {
          // A token this widget no longer knows: start afresh.
          if (e.status === 401) { st.token = ""; toParent({ otklik: "token", token: "" }); }
        });
        connect();
      }
    }, showError);
  }
  window.addEventListener("message", function (e) {
    var d = e.data || {};
    if (e.source !== window.parent || d.otklik !== "init") return;
    st.parent = e.origin;
    st.token = typeof d.token === "string" ? d.token : "";
    st.page_url = d.page_url || null;
    st.page_title = d.page_title || null;
    start();
  });
  if (window.parent !== window) window.parent.postMessage({ otklik: "ready" }, "*");
  // Opened on its own (a link to the frame, an app's web view): no parent.
  setTimeout(start, window.parent === window ? 0 : 1500);
  if (window.parent === window) setOpen(true);
})();
