/** Settings decisions: the settings and the canned responses. */
import type { Plan } from "../assignment.ts";
import type { CommandOf, Decision, Settings } from "../types.ts";

/** Records what actually changes; a new mode or capacity may let the queue drain. */
export function changeSettings(plan: Plan, data: CommandOf<"ChangeSettings">["data"]): Decision {
  const { changes, at } = data;
  const state = plan.state;
  const changed = Object.fromEntries(
    Object.entries(changes).filter(([key, value]) =>
      value !== undefined && state.settings[key as keyof Settings] !== value
    ),
  ) as Partial<Settings>;
  if (Object.keys(changed).length > 0) {
    plan.emit({ type: "SettingsChanged", at, data: changed }).drain(at);
  }
  return plan.done({ kind: "settings", settings: plan.state.settings });
}

/** Replaces the canned responses; the same list again records nothing. */
export function setCannedResponses(
  plan: Plan,
  data: CommandOf<"SetCannedResponses">["data"],
): Decision {
  const { responses, at } = data;
  const current = plan.state.cannedResponses;
  const same = current.length === responses.length &&
    current.every((r, i) =>
      r.shortcut === responses[i].shortcut && r.title === responses[i].title &&
      r.text === responses[i].text
    );
  if (same) return plan.done();
  const copy = responses.map(({ shortcut, title, text }) => ({ shortcut, title, text }));
  return plan.emit({ type: "CannedResponsesSet", at, data: { responses: copy } }).done();
}
