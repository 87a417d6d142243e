/**
 * Runs the runtime bundle's checks in headless Chromium: a local HTTP
 * server hands out a page, the bundle and its data, and Chromium's
 * `--dump-dom` prints the page after its module script wrote the answer
 * into it.
 *
 * @module
 */

/** The Debian/Ubuntu command that installs the browser these tests drive. */
export const INSTALL_CHROMIUM =
  "apt-get update && apt-get install -y --no-install-recommends chromium";

/**
 * A page whose module script imports `imports` and writes into the page, as
 * JSON, what `body` (the inside of an async function) returns.
 */
export function pageWith(imports: string, body: string): string {
  // Load failures of the module itself surface through the window's error
  // event, which the first script records.
  return `<!doctype html>
<meta charset="utf-8">
<title>tessera runtime check</title>
<pre id="answer"></pre>
<script>
  addEventListener("error", (e) => {
    document.getElementById("answer").textContent =
      JSON.stringify({ error: String(e.message) });
  });
</script>
<script type="module">
  ${imports}
  // Virtual time stands still while a fetch is pending, and asynchronous
  // WebAssembly compilation is not a fetch: this request, answered once the
  // page reports done, keeps the page from being dumped too early.
  const held = fetch("/hold");
  const answer = document.getElementById("answer");
  try {
    answer.textContent = JSON.stringify(await (async () => { ${body} })());
  } catch (e) {
    answer.textContent = JSON.stringify({ error: String(e?.stack ?? e) });
  }
  await fetch("/done");
  await held;
</script>
`;
}

// The page imports the bundle as a module, so this also checks that a
// browser accepts it as one.
const PAGE = pageWith(
  `import { runSmoke, runTrainingSmoke } from "/runtime.mjs";`,
  `const vocab = await (await fetch("/vocab.txt")).text();
    const result = runSmoke(vocab);
    return { result, training: await runTrainingSmoke() };`,
);

// The closed network makes Chromium hang on its background services unless
// they are off; a fresh profile keeps runs independent.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--enable-logging=stderr",
  "--dump-dom",
  // Virtual time runs the page until nothing is pending (the bundle and
  // vocabulary fetches included) or this budget of virtual ms is spent.
  "--virtual-time-budget=30000",
];

const TIMEOUT_MS = 45_000;

/** Finds `chromium` on the PATH, or fails saying how to install it. */
export async function findChromium(): Promise<string> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    const path = `${dir}/chromium`;
    if (await Deno.stat(path).then((s) => s.isFile, () => false)) return path;
  }
  throw new Error(
    `Chromium is not installed (no 'chromium' on the PATH); the runtime bundle test needs it to check the bundle in a browser. Install it with: ${INSTALL_CHROMIUM}`,
  );
}

/**
 * Serves the bundle and vocabulary on 127.0.0.1, opens the page in headless
 * Chromium and returns what the page's smoke runs answered.
 *
 * @returns The `runSmoke` and `runTrainingSmoke` results, as parsed from the
 * page's JSON.
 * @throws if the page reports an error or writes nothing.
 */
export async function smokeInChromium(
  chromium: string,
  bundle: string,
  vocab: string,
): Promise<ChromiumAnswer> {
  const files: Record<string, ServedFile> = {
    "/": [PAGE, "text/html"],
    "/runtime.mjs": [bundle, "text/javascript"],
    "/vocab.txt": [vocab, "text/plain"],
  };
  return await answerInChromium(
    chromium,
    (path) => files[path],
  ) as ChromiumAnswer;
}

/** A response body and its content type. */
export type ServedFile = readonly [body: string | Uint8Array, type: string];

/**
 * Serves `serve(path)` on 127.0.0.1 (a page at `/`, see {@linkcode pageWith}),
 * opens `/` in headless Chromium and returns what the page answered.
 *
 * @throws if the page reports an error or writes nothing.
 */
export async function answerInChromium(
  chromium: string,
  serve: (
    path: string,
  ) => ServedFile | undefined | Promise<ServedFile | undefined>,
): Promise<unknown> {
  let done = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
  }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/done") done();
    if (path === "/hold") await finished;
    if (path === "/done" || path === "/hold") return new Response("ok");
    const file = await serve(path);
    if (file === undefined) return new Response("not found", { status: 404 });
    const [body, type] = file;
    return new Response(body as BodyInit, {
      headers: {
        "content-type": typeof body === "string"
          ? `${type}; charset=utf-8`
          : type,
      },
    });
  });
  const profile = await Deno.makeTempDir({ prefix: "tessera-chromium-" });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/`;
    const { stdout, stderr } = await new Deno.Command(chromium, {
      args: [...FLAGS, `--user-data-dir=${profile}`, url],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    }).output();
    return pageAnswer(
      new TextDecoder().decode(stdout),
      new TextDecoder().decode(stderr),
    );
  } finally {
    await server.shutdown();
    await Deno.remove(profile, { recursive: true });
  }
}

/** What the page answered: the data smoke and the training smoke. */
export interface ChromiumAnswer {
  readonly result: unknown;
  readonly training: unknown;
}

function pageAnswer(dom: string, log: string): unknown {
  const match = /<pre id="answer">([\s\S]*?)<\/pre>/.exec(dom);
  const text = (match?.[1] ?? "").replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">").replaceAll("&amp;", "&");
  if (text === "") {
    throw new Error(
      `The page wrote no answer. Dumped DOM:\n${dom}\nChromium's log (tail):\n${
        log.slice(-3000)
      }`,
    );
  }
  const answer = JSON.parse(text) as { error?: string };
  if (answer.error !== undefined) {
    throw new Error(`The page's run failed in Chromium: ${answer.error}`);
  }
  return answer;
}
