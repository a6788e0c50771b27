// Saved replies in the console: typing "/" and a shortcut in the reply box lists the company's
// canned responses (`GET /api/v1/canned_responses`); Enter, Tab or a click puts one in the box
// with its placeholders filled. The list follows the combobox pattern (arrow keys, Escape).
// Text only, never HTML.

/**
 * Fills a canned text's placeholders: `{{user_id}}` (or `{{user}}`) with the conversation's
 * user, `{{agent_name}}` (or `{{agent}}`) with the agent's name.
 */
export function fillPlaceholders(text, { userId, agentName }) {
  return String(text)
    .replace(/\{\{\s*(user_id|user)\s*\}\}/g, userId ?? "")
    .replace(/\{\{\s*(agent_name|agent)\s*\}\}/g, agentName ?? "");
}

/** Reads the company's canned responses with `token`; an empty list when there are none. */
export async function fetchCanned(server, token) {
  try {
    const response = await fetch(`${server}/api/v1/canned_responses`, {
      headers: { authorization: `Bearer ${token}`, accept: "application/json" },
    });
    if (!response.ok) return [];
    const body = await response.json();
    const list = Array.isArray(body?.canned_responses) ? body.canned_responses : [];
    return list.filter((c) => c && typeof c.shortcut === "string" && typeof c.text === "string")
      .map((c) => ({
        shortcut: c.shortcut.replace(/^\//, ""),
        title: typeof c.title === "string" ? c.title : "",
        text: c.text,
      }));
  } catch {
    return [];
  }
}

/**
 * Wires `input` (a combobox) and `list` (its listbox): `responses()` gives the current list,
 * `fill(text)` fills placeholders. Returns `{ close }`.
 */
export function wireCanned({ input, list, responses, fill }) {
  let shown = [];
  let active = -1;

  function close() {
    shown = [];
    active = -1;
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function render() {
    list.replaceChildren(...shown.map((c, i) => {
      const li = document.createElement("li");
      li.id = `canned-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(i === active));
      li.dataset.shortcut = c.shortcut;
      const key = document.createElement("span");
      key.className = "shortcut";
      key.textContent = `/${c.shortcut}`;
      const title = document.createElement("span");
      title.className = "title";
      title.textContent = c.title || c.text;
      li.append(key, title);
      // mousedown, not click: the input keeps focus.
      li.addEventListener("mousedown", (event) => {
        event.preventDefault();
        choose(i);
      });
      return li;
    }));
    list.hidden = shown.length === 0;
    input.setAttribute("aria-expanded", String(shown.length > 0));
    if (active >= 0) input.setAttribute("aria-activedescendant", `canned-${active}`);
    else input.removeAttribute("aria-activedescendant");
  }

  function choose(i) {
    const c = shown[i];
    if (!c) return;
    input.value = fill(c.text);
    close();
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.focus();
  }

  input.addEventListener("input", () => {
    const typed = /^\/(\S*)$/.exec(input.value);
    if (!typed) {
      if (shown.length) close();
      return;
    }
    const word = typed[1].toLowerCase();
    shown = responses().filter((c) => c.shortcut.toLowerCase().startsWith(word)).slice(0, 8);
    active = shown.length ? 0 : -1;
    render();
  });
  input.addEventListener("keydown", (event) => {
    if (!shown.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      active = (active + step + shown.length) % shown.length;
      render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      choose(Math.max(0, active));
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 0));
  return { close };
}
