/** Settings decisions. */
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
