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
  snippet: $("embed-snippet"),
};

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
      els.startStatus.textContent = `Could not start the demo (${errorOf(response, body)}).`;
      return;
    }
    // Tokens after `#`: the fragment never reaches a server or proxy log. The visitor's page also
    // gets the demo bot's token, for the demo chatbot that runs there (static/demo_bot.js).
    els.visitor.href = `/widget.html#${new URLSearchParams({ token: body.user, bot: body.bot })}`;
    els.agent.href = `/admin.html#${new URLSearchParams({ token: body.agent })}`;
    els.who.textContent = `Company “${body.company_id}”: the visitor is ${body.user_id}, ` +
      `the agent is ${body.agent_id}. The tokens last 4 hours.`;
    els.ready.hidden = false;
    els.start.textContent = "Start again with a new visitor";
    els.startStatus.textContent = "Ready: open the console, then the visitor's page.";
  } catch (error) {
    els.startStatus.textContent = "Could not start the demo: the server did not answer.";
    console.warn(error);
  } finally {
    els.start.disabled = false;
  }
}

els.snippet.textContent =
  `<script src="${location.origin}/widget.js" data-token="JWT" async></script>`;
els.start.addEventListener("click", startDemo);
checkDemo();
