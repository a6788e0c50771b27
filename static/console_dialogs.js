// The console's two dialogs, native <dialog> elements in admin.html (focus kept inside,
// Escape cancels): confirming an action that ends a conversation, and choosing the agent of a
// transfer among those online. Text only, never HTML.

import { el } from "./chat_common.js";

const $ = (id) => /** @type {any} */ (document.getElementById(id));

/** Shows `dialog` modally and resolves with its return value ("" when cancelled). */
function ask(dialog, cancel) {
  return new Promise((resolve) => {
    const onCancel = () => dialog.close("");
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("close", () => {
      cancel.removeEventListener("click", onCancel);
      resolve(dialog.returnValue);
    }, { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

/** Asks "title / text" with a `confirm` button; resolves true when the agent confirms. */
export async function confirmAction({ title, text, confirm }) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-go").textContent = confirm;
  const answer = await ask(dialog, $("confirm-cancel"));
  return answer === "go";
}

/**
 * Asks which agent takes `userId`'s conversation: `agents` is `[{ id, status, load,
 * capacity }]` of the other agents; offline and full ones cannot be picked. Resolves
 * `{ agentId, note }`, or null when cancelled.
 */
export async function chooseTransfer({ userId, agents }) {
  const dialog = $("transfer-dialog");
  const list = $("transfer-agents");
  const go = $("transfer-go");
  const note = $("transfer-note");
  $("transfer-title").textContent = `Transfer ${userId}'s conversation`;
  $("transfer-title").title = userId;
  note.value = "";
  const pickable = agents.filter((a) => a.status !== "offline" && !full(a));
  list.replaceChildren(
    ...(agents.length ? agents.map(choice) : [el("li", "empty", "No other agent is online.")]),
  );
  const first = list.querySelector("input:not(:disabled)");
  if (first) first.checked = true;
  go.disabled = pickable.length === 0;
  const answer = await ask(dialog, $("transfer-cancel"));
  const picked = list.querySelector("input:checked");
  if (answer !== "transfer" || !picked) return null;
  return { agentId: picked.value, note: note.value.trim() };
}

function full(a) {
  return typeof a.load === "number" && typeof a.capacity === "number" && a.load >= a.capacity;
}

function choice(a) {
  const li = el("li");
  const label = el("label", "choice");
  const input = el("input");
  input.type = "radio";
  input.name = "transfer-agent";
  input.value = a.id;
  input.disabled = a.status === "offline" || full(a);
  const name = el("span", "name", a.id);
  name.title = a.id;
  const load = typeof a.load === "number" && typeof a.capacity === "number"
    ? ` · ${a.load}/${a.capacity} chats${full(a) ? " (full)" : ""}`
    : "";
  label.append(input, name, el("span", "detail", `${a.status}${load}`));
  li.append(label);
  return li;
}
