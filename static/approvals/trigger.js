// Trigger page: check the content digest, sign approve/reject with this browser's key (made on
// first use), and verify each recorded signature and its ledger inclusion proof client-side.
(function () {
  "use strict";
  const S = window.DeltaSigner;
  const data = JSON.parse(document.getElementById("trigger-data").textContent);
  const user = document.querySelector("[data-user]").dataset.user;
  const status = document.getElementById("sign-status");
  const say = (text, cls) => { if (status) { status.textContent = text; status.className = "alert " + (cls || ""); } };

  async function contentOk() {
    const digest = S.hex(await S.sha256(DeltaJCS.bytes(data.content)));
    const el = document.getElementById("digest-check");
    const ok = digest === data.digest;
    if (el) {
      el.textContent = ok ? "content hashes to this digest (checked in your browser)"
                          : "MISMATCH: the content hashes to " + digest;
      el.className = ok ? "ok small" : "alert error";
    }
    return ok;
  }

  async function decide(decision) {
    for (const b of document.querySelectorAll(".sign-btn")) b.disabled = true;
    try {
      if (!(await contentOk())) throw new Error("the content does not match its digest; not signing");
      say("Preparing your key…");
      const key = await S.ensureKey(user);
      const cp = await S.checkpoint();
      const statement = { trigger_digest: data.digest, decision, key_id: key.key_id,
                          tree_size: cp.tree_size, root_hash: cp.root_hash, time: Date.now() };
      const signature = await S.sign(key, statement);
      const res = await S.api("/api/triggers/" + data.id + "/approvals/",
                              { statement: DeltaJCS.canonicalize(statement), signature });
      say("Signed with key " + key.key_id + " — recorded as ledger entry #" +
          res.approval.ledger_index + "; trigger is " + res.trigger.status + ".", "ok");
      status.dataset.result = res.trigger.status;
      setTimeout(() => window.location.reload(), 600);
    } catch (err) {
      say("Not signed: " + err.message, "error");
      for (const b of document.querySelectorAll(".sign-btn")) b.disabled = false;
    }
  }

  async function verifyRows() {
    if (!data.signatures.length) return;
    const keys = {};
    for (const k of (await S.api("/api/approver-keys/?all=1")).results) keys[k.key_id] = k.public_key;
    for (const s of data.signatures) {
      const cell = document.querySelector('[data-proof="' + s.id + '"]');
      if (!cell) continue;
      try {
        const sigOk = keys[s.key_id] && await S.verify(keys[s.key_id], s.signature, s.statement);
        let proofOk = false;
        const p = s.inclusion_proof;
        if (p) {
          const got = await S.api("/api/ledger/entries?start=" + p.leaf_index + "&end=" + (p.leaf_index + 1));
          const leaf = await S.leafHash(got.entries[0].canonical);
          const root = await S.inclusionRoot(p.leaf_index, p.tree_size, leaf, p.hashes);
          proofOk = root === data.checkpoint.root_hash;
        }
        cell.textContent = (sigOk ? "signature ✓" : "signature ✗") + " · " +
          (proofOk ? "in checkpoint " + p.tree_size + " ✓" : "inclusion ✗");
        cell.className = sigOk && proofOk ? "ok small" : "alert error small";
      } catch (err) {
        cell.textContent = "could not verify: " + err.message;
      }
    }
  }

  for (const b of document.querySelectorAll(".sign-btn")) {
    b.addEventListener("click", () => decide(b.dataset.decision));
  }
  contentOk();
  verifyRows();
})();
