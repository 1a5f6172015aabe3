// Otklik chat loader: the one script a site embeds. It adds an iframe served by
// Otklik (the chat itself runs there, under Otklik's own Content-Security-
// Policy) and keeps the visitor's token in the site's storage so a reload, or
// another page of the site, continues the conversation. No inline script or
// style is created: positions are set through the CSSOM, which a strict CSP on
// the host page allows.
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !window.postMessage) return;
  var src = new URL(me.src);
  var m = src.pathname.match(/^\/widget\/v1\/([^/]+)\/loader\.js$/);
  if (!m) return;
  var key = m[1], origin = src.origin, store = "otklik:" + key;
  if (document.getElementById("otklik-chat-" + key)) return;

  function saved() {
    try { return window.localStorage.getItem(store) || ""; } catch (e) { return ""; }
  }
  function save(token) {
    try {
      if (token) window.localStorage.setItem(store, token);
      else window.localStorage.removeItem(store);
    } catch (e) { /* storage refused: the chat lasts for this page */ }
  }
  var lang = (me.getAttribute("data-lang") || document.documentElement.lang ||
    navigator.language || "en").slice(0, 5);
  var frame = document.createElement("iframe");
  frame.id = "otklik-chat-" + key;
  frame.title = me.getAttribute("data-title") || "Chat";
  frame.src = origin + "/widget/v1/" + key + "/frame?lang=" + encodeURIComponent(lang);
  frame.setAttribute("allow", "clipboard-write");
  var s = frame.style;
  s.position = "fixed";
  s.bottom = "0";
  s.right = "0";
  s.border = "0";
  s.zIndex = "2147483000";
  s.background = "transparent";
  s.colorScheme = "normal";

  function size(open) {
    var phone = window.matchMedia("(max-width: 480px)").matches;
    if (open && phone) {
      s.width = "100%"; s.height = "100%";
    } else if (open) {
      s.width = "400px"; s.height = "min(640px, 100vh)";
    } else {
      s.width = "96px"; s.height = "96px";
    }
  }
  size(false);

  function tell(msg) {
    if (frame.contentWindow) frame.contentWindow.postMessage(msg, origin);
  }
  window.addEventListener("message", function (e) {
    if (e.origin !== origin || e.source !== frame.contentWindow) return;
    var d = e.data || {};
    if (d.otklik === "ready") {
      tell({ otklik: "init", token: saved(), page_url: location.href, page_title: document.title });
    } else if (d.otklik === "token") {
      save(typeof d.token === "string" ? d.token : "");
    } else if (d.otklik === "open") {
      size(true);
    } else if (d.otklik === "close") {
      size(false);
    }
  });
  (document.body || document.documentElement).appendChild(frame);
})();
