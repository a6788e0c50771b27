// Renders /openapi.json as a table. Everything is inserted as text.

/** A table cell holding `text`, optionally as code. */
function cell(text, code = false) {
  const td = document.createElement("td");
  if (code) {
    const c = document.createElement("code");
    c.textContent = text;
    td.append(c);
  } else {
    td.textContent = text;
  }
  return td;
}

/** A compact, readable form of a JSON schema. */
function shape(schema) {
  if (!schema) return "";
  if (schema.properties) {
    const required = new Set(schema.required ?? []);
    const fields = Object.entries(schema.properties).map(([k, v]) =>
      `${k}${required.has(k) ? "" : "?"}: ${v.enum ? v.enum.join(" | ") : v.type ?? "any"}`
    );
    return `{ ${fields.join(", ")} }`;
  }
  return schema.type ?? "";
}

async function render() {
  const body = document.getElementById("routes");
  const doc = await (await fetch("/openapi.json")).json();
  body.textContent = "";
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const tr = document.createElement("tr");
      const route = cell("");
      const m = document.createElement("span");
      m.className = "method";
      m.textContent = `${method} `;
      const p = document.createElement("code");
      p.textContent = path;
      route.append(m, p);
      const params = (op.parameters ?? []).map((x) => `${x.in === "query" ? "?" : ""}${x.name}`)
        .join(" ");
      const request = op.requestBody?.content?.["application/json"]?.schema;
      tr.append(
        route,
        cell(op.summary ?? ""),
        cell([params, shape(request)].filter(Boolean).join(" "), true),
        cell(Object.keys(op.responses ?? {}).join(", ")),
      );
      body.append(tr);
    }
  }
}

render().catch((error) => {
  document.getElementById("routes").textContent = `Could not load /openapi.json: ${error}`;
});
