// The try-it demo's chatbot: a few canned answers, a handoff when the visitor asks for a
// person, and the conversation back once the agent returns it. It runs in the demo shop page
// and speaks the engine's bot HTTP API with the demo's bot token, exactly the two calls a
// company's own chatbot server makes:
//
//   POST /api/v1/conversations/:user_id/messages   each exchange, recorded as the transcript
//   POST /transfer_to_agent                         the handoff, with a context for the agent
//
// Why here and not on the server: the demo already gives its bot token to the browser (the
// landing page mints it), it is a throwaway demo company's, and this file then shows a
// developer the whole integration in one place. A real bot keeps its token on its server.

/** What the visitor says when they want a person. */
const WANTS_HUMAN = /\b(human|person|agent|someone|somebody|representative|operator|real)\b/i;

/** Canned answers: the first rule whose words appear in the message answers it. */
const ANSWERS = [
  [
    /\b(hi|hello|hey|good (morning|afternoon|evening))\b/i,
    "Hello! I'm the Acme assistant. Ask me about shipping, returns or your order — or ask for a human at any time.",
  ],
  [
    /\b(ship|shipping|deliver|delivery|arrive)\b/i,
    "Orders placed before 4 pm ship the same day; delivery takes 1–3 days.",
  ],
  [
    /\b(return|refund|exchange|money back)\b/i,
    "Returns are free within 30 days (unless the product exploded). Want a human to start one? Just ask.",
  ],
  [
    /\b(order|tracking|track|where is)\b/i,
    "I can't see orders myself, but an agent can: say “human” and I'll hand you over.",
  ],
  [/\b(thanks|thank you|cheers)\b/i, "You're welcome! Anything else?"],
];

const FALLBACK =
  "I'm only a small demo bot: I know about shipping and returns. Say “human” to talk to a person.";
const HANDING_OVER =
  "Of course — I'm handing you over to a human agent now. They see what we said so far.";

/** The bot's answer to `text` (a handoff when a person is asked for). */
export function demoAnswer(text) {
  if (WANTS_HUMAN.test(text)) return { reply: HANDING_OVER, handoff: true };
  const rule = ANSWERS.find(([words]) => words.test(text));
  return { reply: rule ? rule[1] : FALLBACK, handoff: false };
}

/**
 * The widget's `assistant` for one visitor: records each exchange as the transcript and hands
 * over when asked, as the demo company's bot. Resolves `{ messages }` as the widget shows them.
 */
export function createDemoBot({ server = "", botToken, companyId, userId }) {
  const headers = {
    authorization: `Bearer ${botToken}`,
    "content-type": "application/json",
    accept: "application/json",
  };

  async function post(path, body) {
    const response = await fetch(`${server}${path}`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => null);
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    return answer;
  }

  return async function assistant(text) {
    const { reply, handoff } = demoAnswer(text);
    const lines = [{ role: "user", content: text }, { role: "bot", content: reply }];
    const recorded = await post(
      `/api/v1/conversations/${encodeURIComponent(userId)}/messages`,
      { messages: lines },
    );
    const at = Math.floor(Date.now() / 1000);
    const messages = (recorded?.messages ?? []).map((m, i) => ({
      id: m.id,
      seq: m.seq,
      role: lines[i].role,
      content: lines[i].content,
      from: lines[i].role === "bot" ? "demo-bot" : userId,
      user_id: userId,
      timestamp: at,
    }));
    if (handoff) {
      await post("/transfer_to_agent", {
        user_id: userId,
        company_id: companyId,
        context: `The visitor asked for a person: “${text}”`,
      });
    }
    return { messages };
  };
}
