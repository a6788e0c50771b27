// The landing page's "Try it": shown when the server offers demo tokens (only on its generated
// development secret). Everything from the network is shown as text.

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const els = {
  section: $("try"),
  on: $("demo-on"),
  off: $("demo-off"),
  start: /** @type {HTMLButtonElement} */ ($("demo-start")),
  startStatus: $("demo-start-status"),
  ready: $("demo-ready"),
  who: $("demo-who"),
  visitor: /** @type {HTMLAnchorElement} */ ($("demo-visitor")),
  agent: /** @type {HTMLAnchorElement} */ ($("demo-agent")),
  handoff: /** @type {HTMLButtonElement} */ ($("demo-handoff")),
  result: $("demo-result"),
  snippet: $("embed-snippet"),
};

/** The tokens of the current demo: `{ company_id, user_id, agent_id, user, agent, bot }`. */
let demo = null;

/** Reads a JSON answer; null when there is none or it is not JSON. */
async function json(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function errorOf(response, body) {
  const message = body && typeof body === "object" && body.error ? body.error.message : "";
  return `${response.status} ${message || response.statusText || "error"}`.trim();
}

async function checkDemo() {
  let enabled = false;
  try {
    const response = await fetch("/api/v1/demo", { headers: { accept: "application/json" } });
    const body = response.ok ? await json(response) : null;
    enabled = body !== null && typeof body === "object" && body.enabled === true;
  } catch {
    enabled = false;
  }
  els.on.hidden = !enabled;
  els.off.hidden = enabled;
  els.section.hidden = false;
}

async function startDemo() {
  els.start.disabled = true;
  els.startStatus.textContent = "Starting…";
  try {
    const response = await fetch("/api/v1/demo/tokens", {
      method: "POST",
      headers: { accept: "application/json" },
    });
    const body = await json(response);
    if (!response.ok || !body || typeof body.user !== "string" || typeof body.agent !== "string") {
      els.startStatus.textContent = `Could not start the demo: ${errorOf(response, body)}`;
      return;
    }
    demo = body;
    els.visitor.href = `/widget.html?${new URLSearchParams({ token: body.user })}`;
    els.agent.href = `/admin.html?${new URLSearchParams({ token: body.agent })}`;
    els.who.textContent = `Company “${body.company_id}”: the visitor is ${body.user_id}, ` +
      `the agent is ${body.agent_id}. The tokens last 4 hours.`;
    els.result.textContent = "";
    els.result.removeAttribute("data-state");
    els.ready.hidden = false;
    els.start.textContent = "Start again with a new visitor";
    els.startStatus.textContent = "Ready: open both pages, then play the handoff.";
  } catch (error) {
    els.startStatus.textContent = `Could not start the demo: ${error}`;
  } finally {
    els.start.disabled = false;
  }
}

async function playHandoff() {
  if (!demo) return;
  els.handoff.disabled = true;
  els.result.removeAttribute("data-state");
  els.result.textContent = "Handing over…";
  try {
    const response = await fetch("/transfer_to_agent", {
      method: "POST",
      headers: {
        authorization: `Bearer ${demo.bot}`,
        "content-type": "application/json",
        accept: "application/json",
      },
      body: JSON.stringify({
        user_id: demo.user_id,
        company_id: demo.company_id,
        context: "The visitor asked for a human after 3 bot answers",
      }),
    });
    const body = await json(response);
    const raw = document.createElement("code");
    raw.className = "raw";
    raw.textContent = `${response.status} ${JSON.stringify(body)}`;
    if (response.ok && body && body.ok) {
      els.result.dataset.state = "ok";
      els.result.replaceChildren(
        `Handed over to the agents: conversation ${body.conversation_id} (event #${body.seq}). ` +
          "Look at the visitor's and the agent's tabs.",
        raw,
      );
    } else {
      els.result.dataset.state = "error";
      els.result.replaceChildren(`The handoff failed: ${errorOf(response, body)}`, raw);
    }
  } catch (error) {
    els.result.dataset.state = "error";
    els.result.textContent = `The handoff failed: ${error}`;
  } finally {
    els.handoff.disabled = false;
  }
}

els.snippet.textContent =
  `<script src="${location.origin}/widget.js" data-token="JWT" async></script>`;
els.start.addEventListener("click", startDemo);
els.handoff.addEventListener("click", playHandoff);
checkDemo();
