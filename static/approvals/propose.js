// Propose form: show only the fields the chosen trigger kind uses (all stay visible without JS).
(function () {
  "use strict";
  const kind = document.getElementById("id_kind");
  if (!kind) return;
  function sync() {
    for (const el of document.querySelectorAll("#propose-form [data-kinds]")) {
      const kinds = el.dataset.kinds.split(" ").filter(Boolean);
      el.hidden = kinds.length > 0 && !kinds.includes(kind.value);
    }
  }
  kind.addEventListener("change", sync);
  sync();
})();
