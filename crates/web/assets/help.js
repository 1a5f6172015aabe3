// Otklik help center: suggestions as you type. The page works without it; this
// only lists matching articles under the search box (an ARIA combobox).
(function () {
  "use strict";
  var form = document.querySelector("form.help-search");
  var input = document.getElementById("hq");
  var list = document.getElementById("hq-list");
  if (!form || !input || !list || !window.fetch) return;
  var ws = form.dataset.ws, lang = form.dataset.lang;
  var timer = null, seq = 0, active = -1;

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }
  function mark(i) {
    var items = list.querySelectorAll("li");
    if (!items.length) return;
    active = (i + items.length) % items.length;
    items.forEach(function (li, k) { li.setAttribute("aria-selected", k === active ? "true" : "false"); });
    input.setAttribute("aria-activedescendant", items[active].id);
  }
  function show(items) {
    list.textContent = "";
    items.filter(function (h) { return h.url; }).slice(0, 6).forEach(function (h, k) {
      var li = document.createElement("li");
      li.id = "hq-opt-" + k;
      li.setAttribute("role", "option");
      var a = document.createElement("a");
      a.href = h.url;
      a.textContent = h.title;
      a.tabIndex = -1;
      li.appendChild(a);
      list.appendChild(li);
    });
    var any = list.children.length > 0;
    list.hidden = !any;
    input.setAttribute("aria-expanded", any ? "true" : "false");
    active = -1;
  }
  function ask() {
    var q = input.value.trim();
    if (q.length < 2) { close(); return; }
    var n = ++seq;
    var url = "/api/v1/help/" + encodeURIComponent(ws) + "/search?limit=6&lang=" + encodeURIComponent(lang) + "&q=" + encodeURIComponent(q.slice(0, 200));
    fetch(url).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d && n === seq) show(d.items || []); })
      .catch(function () {});
  }
  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 200); });
  input.addEventListener("keydown", function (e) {
    if (list.hidden) return;
    if (e.key === "ArrowDown") { mark(active + 1); e.preventDefault(); }
    else if (e.key === "ArrowUp") { mark(active - 1); e.preventDefault(); }
    else if (e.key === "Escape") { close(); }
    else if (e.key === "Enter" && active >= 0) {
      var a = list.querySelectorAll("li a")[active];
      if (a) { location.href = a.href; e.preventDefault(); }
    }
  });
  input.addEventListener("blur", function () { setTimeout(close, 150); });
})();
