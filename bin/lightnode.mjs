#!/usr/bin/env node
// The one `lightnode` command: a thin dispatcher with no logic of its own. It names the top-level commands and the
// package that owns each, lazily imports that package's `cli` surface, and maps results to exit codes:
// 0 ok, 1 failure or invalid input, 2 usage error. JSON results go to stdout, logs to stderr.
const TOP = {
  demo: ['hw-test', 'run the main job on the embedded default (what `npm start` runs)'],
  protocol: ['edge', 'Light Node protocol tools: verify batches, setpoints, acks and proofs; make device keys'],
  meter: ['edge', 'read a Modbus meter once, or discover SunSpec devices'],
  chain2: ['edge', 'decode Chain 2 frames, listen to a Chain 2 gateway'],
  agent: ['edge', 'run the device agent (the daemon)'],
  status: ['edge', 'ask the running agent how it is'],
  buffer: ['edge', 'inspect and verify the store-and-forward outbox'],
  audit: ['edge', 'verify the setpoint audit log (hash chain)'],
  sim: ['hw-test', 'simulators: meters (Modbus RTU/TCP), Chain 2 gateways, batteries (ESS)'],
  hil: ['hw-test', 'hardware-in-the-loop bench: scenario files (validate)'],
  cloud: ['cloud', 'cloud companion services (BAL, SCD, market, DSOTP)'],
  proof: ['cloud', 'fetch and verify sample proofs'],
  setpoint: ['cloud', 'operator tools: sign and publish a setpoint to a device'],
  market: ['cloud', 'flexibility market: clear a day-ahead session'],
  dsotp: ['cloud', 'DSO technical platform: power flow on a grid model'],
  update: ['provisioning', 'signed software updates: pack, sign, verify, apply, status, confirm, rollback'],
  config: ['provisioning', 'remote configuration: push a signed revision, status and history of a device'],
  image: ['provisioning', 'flash a Light Node image to an SD card or disk (bmap, verified)'],
  commission: [
    'provisioning',
    'commission a Light Node on site: find meters, battery, Chain 2 and cloud; write config and signed report',
  ],
};

// a closed pipe (`lightnode … | head`) is not an error of the command
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const out = (s) => process.stdout.write(s.endsWith('\n') ? s : s + '\n');
const err = (s) => process.stderr.write(s.endsWith('\n') ? s : s + '\n');

// Is the package that owns a command installed? The Debian package carries protocols, edge and provisioning only:
// its help lists what it has, and a command of a package left out is a usage error, not a crash. Resolution only
// (no file is read: `import.meta.resolve` maps the exports entry without checking that dist/ was built), so in the
// repository every package counts as installed and an unbuilt one still gets the 'npm run build' hint below.
const installed = new Map();
function isInstalled(pkg) {
  if (!installed.has(pkg)) {
    let ok = true;
    try {
      import.meta.resolve(`@lightnode/${pkg}/cli`);
    } catch {
      ok = false;
    }
    installed.set(pkg, ok);
  }
  return installed.get(pkg);
}

function topHelp() {
  const shown = Object.entries(TOP).filter(([, [pkg]]) => isInstalled(pkg));
  const w = Math.max(...shown.map(([k]) => k.length));
  return [
    'Usage: lightnode <command> [subcommand] [flags]   (lightnode <command> --help for more)',
    '',
    'Commands:',
    ...shown.map(([k, [, s]]) => `  ${k.padEnd(w)}  ${s}`),
    '',
    'Exit codes: 0 ok, 1 failure or invalid input, 2 usage error. JSON on stdout, logs on stderr.',
  ].join('\n');
}

// a group's subcommands may be loaded lazily: help loads each one to show its summary
async function groupHelp(path, group) {
  const names = Object.keys(group.subcommands);
  const w = Math.max(...names.map((k) => k.length));
  const summaries = await Promise.all(
    names.map(async (k) => {
      const c = group.subcommands[k];
      return (typeof c === 'function' ? await c() : c).summary;
    }),
  );
  return [
    `Usage: lightnode ${path.join(' ')} <subcommand> [flags]`,
    '',
    group.summary,
    '',
    'Subcommands:',
    ...names.map((k, i) => `  ${k.padEnd(w)}  ${summaries[i]}`),
  ].join('\n');
}

async function main(argv) {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? out : err)(topHelp());
    return name ? 0 : 2;
  }
  const entry = TOP[name];
  if (!entry) {
    err(`lightnode: unknown command '${name}'\n\n${topHelp()}`);
    return 2;
  }
  if (!isInstalled(entry[0])) {
    err(`lightnode ${name}: not installed in this build (@lightnode/${entry[0]} is not part of it: ${entry[1]})`);
    return 2;
  }
  let mod;
  try {
    mod = await import(`@lightnode/${entry[0]}/cli`);
  } catch (e) {
    err(`lightnode: cannot load @lightnode/${entry[0]} (${e.message}). Run 'npm run build' (or 'npm test') first.`);
    return 1;
  }
  const load = mod.commands?.[name];
  if (!load) {
    // a command named in the table whose package does not provide it yet: a usage, not a crash
    const usage = `Usage: lightnode ${name}\n\nNot yet available: @lightnode/${entry[0]} does not provide '${name}' yet (${entry[1]}).`;
    if (rest.includes('--help') || rest.includes('-h')) {
      out(usage);
      return 0;
    }
    err(`lightnode ${name}: not yet available\n\n${usage}`);
    return 2;
  }
  let node = await load();
  const path = [name];
  let args = rest;
  while ('subcommands' in node) {
    const [sub, ...more] = args;
    if (!sub || sub === '--help' || sub === '-h') {
      (sub ? out : err)(await groupHelp(path, node));
      return sub ? 0 : 2;
    }
    const next = node.subcommands[sub];
    if (!next) {
      err(`lightnode ${path.join(' ')}: unknown subcommand '${sub}'\n\n${await groupHelp(path, node)}`);
      return 2;
    }
    node = typeof next === 'function' ? await next() : next;
    path.push(sub);
    args = more;
  }
  if (args.includes('--help') || args.includes('-h')) {
    out(node.usage);
    return 0;
  }
  const ac = new AbortController();
  const stop = () => ac.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const io = { stdout: out, stderr: err, env: process.env, cwd: process.cwd(), signal: ac.signal };
  try {
    return await node.run(args, io);
  } catch (e) {
    if (e && e.name === 'LightNodeError') {
      err(`lightnode ${path.join(' ')}: ${e.message}`);
      return e.code === 'USAGE' ? 2 : 1;
    }
    err(`lightnode ${path.join(' ')}: unexpected error: ${e && e.stack ? e.stack : String(e)}`);
    return 1;
  }
}

let settled = false;
process.on('beforeExit', () => {
  if (!settled) {
    settled = true;
    err('lightnode: the command stopped without a result (a promise that never settled): treating it as a failure');
    process.exitCode = 1;
  }
});
main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (e) => {
    settled = true;
    err(`lightnode: ${e && e.stack ? e.stack : String(e)}`);
    process.exitCode = 1;
  },
);
