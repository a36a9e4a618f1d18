// Key management: make and register a key in this browser; mark which registered keys live here.
(function () {
  "use strict";
  const S = window.DeltaSigner;
  const user = document.querySelector("[data-user]").dataset.user;
  const out = document.getElementById("key-status");
  async function mark() {
    const here = new Set((await S.localKeys(user)).map((r) => r.key_id));
    for (const cell of document.querySelectorAll("[data-here]")) {
      cell.textContent = here.has(cell.dataset.here) ? "this browser" : "elsewhere";
    }
  }
  const btn = document.getElementById("new-key");
  if (btn) btn.addEventListener("click", async () => {
    btn.disabled = true;
    try {
      const rec = await S.createKey(user, document.getElementById("key-label").value);
      out.textContent = "Registered key " + rec.key_id + "; its private half stays in this browser.";
      out.className = "alert ok";
      setTimeout(() => window.location.reload(), 600);
    } catch (err) {
      out.textContent = "Could not make a key: " + err.message;
      out.className = "alert error";
      btn.disabled = false;
    }
  });
  mark();
})();
