/** Settings evolutions. */
import type { CompanyState, EventOf } from "../types.ts";

/** New settings; a webhook URL set where there was none hears only of what comes next. */
export function settingsChanged(
  state: CompanyState,
  event: EventOf<"SettingsChanged">,
): CompanyState {
  const seq = state.version + 1;
  const settings = { ...state.settings, ...event.data };
  // A changed URL takes over what was still waiting for the old one.
  const fresh = event.data.webhookUrl && !state.settings.webhookUrl;
  return fresh
    ? { ...state, version: seq, settings, webhookSince: seq }
    : { ...state, version: seq, settings };
}
