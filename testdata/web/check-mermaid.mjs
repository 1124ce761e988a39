// Reads Markdown on stdin and checks every ```mermaid block with Mermaid's own parser.
// Prints "ok N" (N blocks) and exits 0, or prints the parse error and exits 1.
// Mermaid expects a browser; jsdom gives it the window and DOMPurify it needs.
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const k of ["Element", "HTMLElement", "Node", "DOMParser", "XMLSerializer"]) {
  if (!(k in globalThis)) globalThis[k] = dom.window[k];
}

const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

let input = "";
for await (const chunk of process.stdin) input += chunk;
const blocks = [...input.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]);
if (blocks.length === 0) {
  console.log("no mermaid block");
  process.exit(1);
}
for (const [i, b] of blocks.entries()) {
  try {
    const r = await mermaid.parse(b);
    if (!r || r.diagramType !== "flowchart-v2" && r.diagramType !== "flowchart") {
      console.log(`block ${i + 1}: diagram type ${r && r.diagramType}`);
      process.exit(1);
    }
  } catch (e) {
    console.log(`block ${i + 1}: ${e.message || e}`);
    process.exit(1);
  }
}
console.log(`ok ${blocks.length}`);
