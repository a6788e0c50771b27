/** Settings evolutions: the settings and the canned responses. */
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

/** The canned responses, replaced whole. */
export function cannedResponsesSet(
  state: CompanyState,
  event: EventOf<"CannedResponsesSet">,
): CompanyState {
  return { ...state, version: state.version + 1, cannedResponses: event.data.responses };
}
