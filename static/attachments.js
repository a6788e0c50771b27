// Attachments on messages, for the console and the widget (bundled into it): upload a file,
// and draw a message's attachments. Files are read with the reader's token
// (`GET /api/v1/attachments/:id` needs it in the Authorization header), so each is fetched and
// shown from a blob: address. Only raster images are shown inline; every other type (SVG and
// HTML included) is a download link, never rendered. Names are inserted as text.

/** Types shown inline as images; anything else is offered as a download. */
export const INLINE_IMAGES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

/** Sizes in words: "812 B", "14 KB", "2.3 MB". */
export function formatSize(bytes) {
  if (typeof bytes !== "number" || !Number.isFinite(bytes)) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * Uploads `file` as the token's owner: resolves `{ ok: true, attachment: { id, name, size,
 * content_type } }` or `{ ok: false, code, message }` (`too_large`, `invalid_payload` for a
 * type not allowed, `unsupported` when this server takes no attachments, `offline`).
 */
export async function uploadAttachment({ server, token, file }) {
  let response;
  try {
    response = await fetch(`${server}/api/v1/attachments?name=${encodeURIComponent(file.name)}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": file.type || "application/octet-stream",
      },
      body: file,
    });
  } catch {
    return { ok: false, code: "offline", message: "The server could not be reached." };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.ok && body && typeof body.id === "string") {
    return { ok: true, attachment: body };
  }
  // A server before attachments answers 404 for the route itself.
  const code = body?.error?.code ?? (response.status === 404 ? "unsupported" : "unknown");
  return { ok: false, code: response.status === 404 ? "unsupported" : code, message: "" };
}

/** An upload refusal in words for people. */
export function uploadErrorText(result) {
  switch (result.code) {
    case "too_large":
      return "This file is too large to send.";
    case "invalid_payload":
      return "This type of file cannot be sent.";
    case "unsupported":
      return "This chat does not take files.";
    case "offline":
      return "The file could not be sent: no connection.";
    default:
      return "The file could not be sent. Try again in a moment.";
  }
}

/** A message's attachments as `{ id, name, size, content_type }` (ids alone are kept too). */
export function attachmentsOf(message) {
  const list = message && Array.isArray(message.attachments) ? message.attachments : [];
  return list.flatMap((a) => {
    if (typeof a === "string") return [{ id: a, name: "file", size: undefined, content_type: "" }];
    if (!a || typeof a !== "object" || typeof a.id !== "string") return [];
    return [{
      id: a.id,
      name: typeof a.name === "string" && a.name ? a.name : "file",
      size: typeof a.size === "number" ? a.size : undefined,
      content_type: typeof a.content_type === "string" ? a.content_type : "",
    }];
  });
}

/** Reads one attachment with the token; resolves a Blob, or null. */
async function fetchBlob(server, token, id) {
  try {
    const response = await fetch(`${server}/api/v1/attachments/${encodeURIComponent(id)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return response.ok ? await response.blob() : null;
  } catch {
    return null;
  }
}

/**
 * A list of `items` (from `attachmentsOf`) for a message: images inline (loaded now), other
 * files as links that download when clicked. `getToken()` gives the reader's current token.
 */
export function attachmentList({ items, server, getToken }) {
  const ul = document.createElement("ul");
  ul.className = "attachments";
  ul.setAttribute("data-livechat", "attachments");
  for (const item of items) {
    const li = document.createElement("li");
    li.className = "attachment";
    li.setAttribute("data-type", item.content_type);
    const size = formatSize(item.size);
    const label = size ? `${item.name} (${size})` : item.name;
    if (INLINE_IMAGES.has(item.content_type)) {
      const img = document.createElement("img");
      img.alt = item.name;
      img.title = label;
      img.className = "attachment-image";
      img.decoding = "async";
      li.append(img);
      fetchBlob(server, getToken(), item.id).then((blob) => {
        if (blob) img.src = URL.createObjectURL(blob);
        else img.alt = `${item.name} (could not be loaded)`;
      });
    } else {
      const link = document.createElement("a");
      link.href = "#";
      link.className = "attachment-file";
      link.textContent = label;
      link.addEventListener("click", async (event) => {
        event.preventDefault();
        const blob = await fetchBlob(server, getToken(), item.id);
        if (!blob) {
          link.textContent = `${label}: could not be loaded`;
          return;
        }
        // Downloaded, never opened in the page: an octet stream renders as nothing.
        const url = URL.createObjectURL(new Blob([blob], { type: "application/octet-stream" }));
        const save = document.createElement("a");
        save.href = url;
        save.download = item.name;
        save.hidden = true;
        li.append(save);
        save.click();
        save.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
      });
      li.append(link);
    }
    ul.append(li);
  }
  return ul;
}
