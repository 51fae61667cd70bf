// The Markdown report: machine and versions, then one section per scenario with a table
// (median and min–max of the runs) and, where it helps, an SVG chart written beside it.
import { barChart, percentileChart } from './svg.mjs';
import { BROKER_NAMES, EMULATORS } from '../brokers/index.mjs';
import { prefixed } from '../machine-cpu.mjs';

const DB_NAMES = { postgres: 'PostgreSQL', mysql: 'MariaDB', sqlite: 'SQLite' };
const num = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
/** "median (min–max)" */
const spread = (s, digits = 0) => (s ? `${num(s.median, digits)} (${num(s.min, digits)}–${num(s.max, digits)})` : 'n/a');
const table = (head, rows) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const bar = (label, s) => ({ label, value: s?.median ?? NaN, min: s?.min, max: s?.max });

/**
 * @param {object} results  the JSON document run.mjs writes
 * @param {string} base     file name stem; charts are written as `<base>-<name>.svg`
 * @returns {{ markdown: string, charts: { file: string, svg: string }[] }}
 */
export function renderReport(results, base) {
  const charts = [];
  const chart = (name, svg) => {
    const file = `${base}-${name}.svg`;
    charts.push({ file, svg });
    return `![${name}](${file})`;
  };
  const { machine, settings } = results;
  const out = [];
  out.push(`# outboxkit benchmark report — ${results.startedAt.slice(0, 10)}`);
  out.push('');
  if (results.note) out.push(`> **${results.note}**`, '');
  out.push(
    `Mode: ${settings.quick ? '`--quick`' : 'full'}; ${settings.runs} run(s) per figure, each figure the median with its spread (min–max). Duration ${num(results.durationSeconds)} s.`,
  );
  if (settings.runs < 3) out.push('', `> Fewer than 3 runs per figure: the spread is not meaningful.`);
  out.push('', '## Machine and versions', '');
  out.push(
    table(
      ['', ''],
      [
        ['CPU', `${machine.cpuModel}, ${machine.cores} cores`],
        ['Memory', `${machine.memoryGiB} GiB`],
        ['OS', machine.platform],
        ['Load average at start (1/5/15 min)', machine.loadAverage.join(' / ')],
        ...Object.entries(machine.versions).map(([k, v]) => [k, String(v)]),
      ],
    ),
  );
  out.push('', '## Settings', '');
  out.push(
    table(
      ['setting', 'value'],
      Object.entries({
        ...settings.sizes,
        relay: JSON.stringify(settings.relay),
        databases: settings.databases.join(', '),
        brokers: (settings.brokers ?? ['rabbitmq']).join(', '),
        scenarios: settings.only.join(', '),
      }).map(([k, v]) => [k, `\`${Array.isArray(v) ? v.join(', ') : v}\``]),
    ),
  );
  out.push(
    '',
    "Everything on the client side (relay, consumer, producers) runs in one Node process; CPU figures are that process's user+system time over the measured part, peak RSS its resident memory. The database and broker servers are not included.",
  );

  for (const [id, scenario] of Object.entries(results.scenarios)) {
    out.push('', `## ${scenario.title}`, '', scenario.description, '');
    if (scenario.error) {
      out.push(`**Failed:** ${scenario.error}`);
      continue;
    }
    const render = RENDERERS[id];
    out.push(render ? render(scenario.result, chart) : '```json\n' + JSON.stringify(scenario.result, null, 2) + '\n```');
  }
  out.push(
    '',
    '## Time per scenario',
    '',
    table(
      ['scenario', 'seconds'],
      Object.entries(results.scenarios).map(([id, s]) => [id, num(s.seconds, 1)]),
    ),
    '',
    `Total ${num(results.durationSeconds, 1)} s.`,
  );
  out.push(
    '',
    '## How to read this',
    '',
    'See `benchmarks/README.md`. Compare figures only within one report: every ratio here was measured in the same run, on the same machine, against the same servers.',
    '',
  );
  return { markdown: out.join('\n'), charts };
}

const RENDERERS = {
  drain(result, chart) {
    const perSize = result.perSize ?? { [result.perDatabase[Object.keys(result.perDatabase)[0]]?.events ?? '']: result.perDatabase };
    const rows = [];
    for (const [count, perDatabase] of Object.entries(perSize)) {
      for (const [db, r] of Object.entries(perDatabase)) {
        rows.push([
          DB_NAMES[db],
          Number(count).toLocaleString('en'),
          spread(r.rate),
          spread(r.rawRate),
          spread(r.ratio, 2),
          r.cpuUsPerEvent ? spread(r.cpuUsPerEvent, 1) : '',
          r.rawCpuUsPerEvent ? spread(r.rawCpuUsPerEvent, 1) : '',
          spread(r.peakRssMiB),
        ]);
      }
    }
    const dbs = Object.keys(result.perDatabase);
    return (
      table(
        [
          'database',
          'events',
          'relay events/s',
          'raw publish msg/s',
          'relay / raw',
          'relay process CPU µs/event',
          'raw publisher CPU µs/event',
          'relay peak RSS MiB',
        ],
        rows,
      ) +
      '\n\n' +
      drainMachineCpu(perSize) +
      chart(
        'drain',
        barChart({
          title: 'Drain throughput (events/s, confirmed and consumed; largest size)',
          unit: '/s',
          groups: dbs.map((db) => ({
            label: DB_NAMES[db],
            bars: [bar('outboxkit relay', result.perDatabase[db].rate), bar('raw rabbitmq-client', result.perDatabase[db].rawRate)],
          })),
        }),
      )
    );
  },
  naive(result, chart) {
    const dbs = Object.keys(result.perDatabase);
    return (
      table(
        ['database', 'naive events/s', 'outboxkit events/s', 'speed-up', 'naive CPU ms', 'outboxkit CPU ms'],
        dbs.map((db) => {
          const r = result.perDatabase[db];
          return [DB_NAMES[db], spread(r.naiveRate), spread(r.tunedRate), `${spread(r.speedup, 1)}×`, spread(r.naiveCpuMs), spread(r.tunedCpuMs)];
        }),
      ) +
      '\n\n' +
      chart(
        'naive',
        barChart({
          title: 'Naive vs outboxkit relay (events/s)',
          unit: '/s',
          groups: dbs.map((db) => ({
            label: DB_NAMES[db],
            bars: [bar('naive (row at a time)', result.perDatabase[db].naiveRate), bar('outboxkit relay', result.perDatabase[db].tunedRate)],
          })),
        }),
      )
    );
  },
  steady(result, chart) {
    const parts = [];
    for (const [db, r] of Object.entries(result.perDatabase)) {
      parts.push(`### ${DB_NAMES[db]} (drain rate used: ${num(r.drainRate)} events/s)`, '');
      if (r.commitLatencyMs !== undefined)
        parts.push(`Producer pool sized from a commit latency of ${num(r.commitLatencyMs, 1)} ms (8 closed-loop producers, outbox write on).`, '');
      const rows = [];
      const series = [];
      for (const [mode, points] of Object.entries(r.modes)) {
        for (const p of points) {
          rows.push(steadyRow(mode, p));
          series.push({ label: `${mode} ${p.fraction * 100}%`, points: p.curve });
        }
      }
      parts.push(
        steadyTable(rows),
        '',
        ...steadyMachineCpu(r.modes),
        chart(`steady-${db}`, percentileChart({ title: `${DB_NAMES[db]}: commit -> consumer latency (median-p99 run)`, series })),
        '',
      );
    }
    return parts.join('\n');
  },
  history(result, chart) {
    const dbs = Object.keys(result.perDatabase);
    return (
      table(
        ['database', 'empty history events/s', 'large history events/s', 'large / empty', 'bulk insert s'],
        dbs.map((db) => {
          const r = result.perDatabase[db];
          return [DB_NAMES[db], spread(r.emptyRate), spread(r.largeRate), spread(r.ratio, 2), num(r.historyInsertSeconds, 1)];
        }),
      ) +
      '\n\n' +
      chart(
        'history',
        barChart({
          title: 'Drain with empty vs large history (events/s)',
          unit: '/s',
          groups: dbs.map((db) => ({
            label: DB_NAMES[db],
            bars: [bar('empty history', result.perDatabase[db].emptyRate), bar('large history', result.perDatabase[db].largeRate)],
          })),
        }),
      )
    );
  },
  producer(result, chart) {
    const rows = [];
    const groups = [];
    for (const [db, r] of Object.entries(result.perDatabase)) {
      for (const v of r.variants) rows.push([DB_NAMES[db], v, spread(r.rates[v]), r.relativeToBusinessOnly[v] ? spread(r.relativeToBusinessOnly[v], 2) : '1']);
      groups.push({ label: DB_NAMES[db], bars: r.variants.map((v) => bar(v, r.rates[v])) });
    }
    const floors = Object.entries(result.perDatabase)
      .filter(([, r]) => r.overheadVsFloor)
      .map(([db, r]) => [DB_NAMES[db], spread(r.overheadVsFloor, 2), r.overheadVsFloorNoNotify ? spread(r.overheadVsFloorNoNotify, 2) : '']);
    return (
      table(['database', 'transaction', 'commits/s', 'relative to business only'], rows) +
      '\n\n' +
      (floors.length > 0
        ? table(['database', 'overheadVsFloor (business + outbox / business + plain row)', 'same, PostgreSQL without NOTIFY'], floors) + '\n\n'
        : '') +
      chart('producer', barChart({ title: 'Producer commits/s', unit: '/s', groups }))
    );
  },
  ordering(result, chart) {
    const dbs = Object.keys(result.perDatabase);
    return (
      table(
        ['database', '1 aggregate events/s', 'many aggregates events/s', 'many / one'],
        dbs.map((db) => {
          const r = result.perDatabase[db];
          return [DB_NAMES[db], spread(r.oneAggregateRate), spread(r.manyAggregatesRate), spread(r.ratio, 1)];
        }),
      ) +
      '\n\nThere is no relaxed (unordered) mode in the relay: ordering is always per aggregate, never global.\n\n' +
      chart(
        'ordering',
        barChart({
          title: 'Ordering cost (events/s)',
          unit: '/s',
          groups: dbs.map((db) => ({
            label: DB_NAMES[db],
            bars: [bar('1 aggregate', result.perDatabase[db].oneAggregateRate), bar('many aggregates', result.perDatabase[db].manyAggregatesRate)],
          })),
        }),
      )
    );
  },
  peer(result, chart) {
    if (result.skipped) return `Skipped: ${result.skipped}.`;
    const d = result.drain;
    const parts = [
      table(
        ['', 'outboxkit events/s', 'pg-transactional-outbox events/s', 'outboxkit / peer', 'outboxkit CPU ms', 'peer CPU ms (child process)'],
        [['drain', spread(d.outboxkitRate), spread(d.peerRate), spread(d.ratio, 1), spread(d.outboxkitCpuMs), spread(d.peerCpuMs)]],
      ),
      '',
    ];
    parts.push(
      `Peer batch size ${d.batchSize}. Peer drains failed: ${d.errors?.length ?? 0} of ${d.outboxkitRate?.runs?.length ?? '?'}${d.errors?.length ? ` (${[...new Set(d.errors)].join('; ')})` : ''}. ` +
        `Peer stop (its listener's shutdown, then the publisher, the AMQP connection and the producers' pool) still pending 0.5 s after the measurement: ${d.shutdownHung ?? 0} of ${d.outboxkitRate?.runs?.length ?? '?'} drain runs (the child exits anyway).`,
      '',
    );
    parts.push(
      chart(
        'peer-drain',
        barChart({
          title: 'PostgreSQL drain: outboxkit vs pg-transactional-outbox',
          unit: '/s',
          groups: [{ label: 'PostgreSQL', bars: [bar('outboxkit', d.outboxkitRate), bar('pg-transactional-outbox', d.peerRate)] }],
        }),
      ),
      '',
    );
    parts.push(
      `Steady state at the same arrival rates for both, from the ${result.steady.baseRateFrom ?? 'peer drain rate'} (${num(result.steady.baseRate)} events/s):`,
      '',
    );
    const rows = [];
    const series = [];
    for (const [name, points] of [
      ['outboxkit', result.steady.outboxkit],
      ['pg-transactional-outbox', result.steady.peer],
    ]) {
      for (const p of points) {
        rows.push(steadyRow(name, p));
        if (p.curve) series.push({ label: `${name} ${p.fraction * 100}%`, points: p.curve });
      }
    }
    const ratios = result.steady.outboxkit.map((p, i) => {
      const q = result.steady.peer[i];
      if (!p.percentiles || !q?.percentiles) return `${p.fraction * 100}%: n/a (failed runs)`;
      return (
        `${p.fraction * 100}%: ` + ['p50', 'p99'].map((k) => `${k} outboxkit/peer = ${num(p.percentiles[k].median / q.percentiles[k].median, 2)}`).join(', ')
      );
    });
    parts.push(steadyTable(rows, 'system'), '', `Latency ratios (below 1 = outboxkit faster): ${ratios.join('; ')}`, '');
    if (series.length > 0)
      parts.push(chart('peer-steady', percentileChart({ title: 'PostgreSQL steady state: outboxkit (LISTEN) vs peer (polling)', series })));
    return parts.join('\n');
  },
  cdc(result) {
    const sources = Object.entries(result.sources);
    const fractions = sources[0]?.[1].steady.map((p) => p.fraction) ?? [];
    const producerOf = (source) => result.producer[source.database];
    const latency = (source, fraction, key) => {
      const point = source.steady.find((p) => p.fraction === fraction);
      return point?.percentiles ? spread(point.percentiles[key], 1) : 'failed';
    };
    const rows = sources.map(([id, source]) => [
      DB_NAMES[source.database] ?? source.database,
      `\`${id}\` (${source.label})`,
      spread(source.drain.rate),
      spread(source.drain.dbCpuUsPerEvent),
      source.capacity === undefined ? '-' : `${num(source.capacity)} (${spread(source.saturation.percentiles.p99, 1)})`,
      spread(producerOf(source)?.[id]),
      spread(producerOf(source)?.[`${id}/none`], 2),
      spread(producerOf(source)?.[`${id}-tx/none`], 2),
      spread(producerOf(source)?.[`${id} dbCpuUsPerCommit`]),
      spread(producerOf(source)?.[`${id} sourceCpuMs`]),
      ...fractions.flatMap((f) => [latency(source, f, 'p50'), latency(source, f, 'p99')]),
      ...fractions.map((f) => spread(source.steady.find((p) => p.fraction === f)?.dbCpuUsPerEvent)),
      ...fractions.map((f) => spread(source.steady.find((p) => p.fraction === f)?.sourceCpuUsPerEvent)),
    ]);
    const head = [
      'database',
      'source',
      'drain events/s',
      'DB CPU µs/event (drain)',
      'end-to-end capacity commits/s (p99 ms there)',
      'producer commits/s (source running)',
      'producer / no wake-up (source running)',
      'producer / no wake-up (its transaction alone)',
      'DB CPU µs/commit (producer, source running)',
      'source process CPU ms (producer run)',
      ...fractions.flatMap((f) => [`p50 ms at ${f * 100}%`, `p99 ms at ${f * 100}%`]),
      ...fractions.map((f) => `DB CPU µs/event at ${f * 100}%`),
      ...fractions.map((f) => `source process CPU µs/event at ${f * 100}%`),
    ];
    const floors = Object.entries(result.floor ?? {});
    const floorRows = floors.map(([db, floor]) => {
      const source = result.sources[floor.comparedWith];
      return [
        DB_NAMES[db] ?? db,
        `\`${floor.comparedWith}\`'s`,
        ...fractions.flatMap((f) => [latency(floor, f, 'p50'), latency(floor, f, 'p99')]),
        ...fractions.map((f) => {
          const [ours, base] = [source, floor].map((s) => s.steady.find((p) => p.fraction === f)?.percentiles?.p99.median);
          return num(ours / base, 2);
        }),
      ];
    });
    const baselines = Object.entries(result.producer).map(
      ([db, p]) => `${DB_NAMES[db] ?? db} ${spread(p.none)} commits/s, ${spread(p['none dbCpuUsPerCommit'])} µs DB CPU per commit`,
    );
    const peer = result.peer;
    const parts = [
      `Database: ${Object.values(result.servers).join(', ')}; ${num(result.events)} events per drain.`,
      '',
      '### Polling vs CDC',
      '',
      table(head, rows),
      '',
      `Producer baseline (the same business transaction + outbox event, no wake-up, no relay running): ${baselines.join('; ')}. ` +
        '"Source running": the source in a process of its own beside the producers (on a small machine they share the cores); "its transaction alone": ' +
        "the source's wake-up and slot, the source stopped. Latency is COMMIT acknowledged -> consumed, the source in a process of its own, at fractions of its own end-to-end capacity: the commit rate an open loop offered the source's drain rate achieved (producers, database, source and consumer on the same cores), at most the drain rate; DB CPU is the database server's processes (user + system) per event.",
      '',
      table(
        ['', 'events/s', `outboxkit \`${peer.comparedWith}\` / peer`],
        [['pg-transactional-outbox 0.5.7, logical-replication listener (child process)', spread(peer.drain.rate), num(peer.ratio, 1)]],
      ),
      '',
      `Peer drains failed: ${peer.errors.length} of ${peer.drain.rate?.runs?.length ?? '?'}${peer.errors.length ? ` (${[...new Set(peer.errors)].join('; ')})` : ''}.`,
      '',
      steadyTable(
        sources.flatMap(([id, source]) => source.steady.map((p) => steadyRow(id, p))),
        'source',
      ),
    ];
    if (floors.length > 0) {
      parts.push(
        '',
        '### Latency floor: the producer publishes right after COMMIT',
        '',
        'No relay: each producer sends its event with the raw client (the same message) as soon as its COMMIT is acknowledged, the dual write an outbox ' +
          "replaces, at the rates the change-log source was measured at. What is left of a source's latency above this is the source's own.",
        '',
        table(
          [
            'database',
            'at the load levels of',
            ...fractions.flatMap((f) => [`p50 ms at ${f * 100}%`, `p99 ms at ${f * 100}%`]),
            ...fractions.map((f) => `source p99 / floor p99 at ${f * 100}%`),
          ],
          floorRows,
        ),
      );
    }
    return parts.join('\n');
  },
  tenants(result) {
    const rows = [];
    for (const [db, r] of Object.entries(result.perDatabase)) {
      for (const [phase, p] of Object.entries(r.phases)) {
        const { p50, p99 } = p.trickle.percentiles;
        rows.push([
          DB_NAMES[db],
          phase,
          `${p.concurrency}`,
          p.backlogEvents.toLocaleString('en'),
          p.backlogEvents > 0 ? num(p.backlogSeconds, 1) : '-',
          `${p.trickleEvents}`,
          num(p50, 1),
          num(p99, 1),
          num(p.trickle.maxMs, 1),
        ]);
      }
    }
    return table(
      [
        'database',
        'phase',
        '--tenant-concurrency',
        'backlog events',
        'backlog drained (s)',
        'trickle events',
        'trickle p50 ms',
        'trickle p99 ms',
        'trickle max ms',
      ],
      rows,
    );
  },
  brokers(result, chart) {
    const kinds = Object.keys(result.perBroker);
    const drains = table(
      ['broker', 'relay events/s', 'raw client msg/s', 'relay / raw', 'relay CPU ms', 'raw client CPU ms'],
      kinds.map((kind) => {
        const d = result.perBroker[kind].drain;
        return [BROKER_NAMES[kind], spread(d.rate), spread(d.rawRate), spread(d.ratio, 2), spread(d.cpuMs), spread(d.rawCpuMs)];
      }),
    );
    const rows = [];
    const series = [];
    const ratios = [];
    for (const kind of kinds) {
      for (const point of result.perBroker[kind].steady) {
        for (const system of ['relay', 'raw']) {
          rows.push(steadyRow(`${BROKER_NAMES[kind]} ${system === 'relay' ? 'relay' : 'raw client'}`, point[system]));
          series.push({ label: `${BROKER_NAMES[kind]} ${system} ${point.fraction * 100}%`, points: point[system].curve });
        }
        ratios.push(`${BROKER_NAMES[kind]} ${point.fraction * 100}%: p50 relay/raw = ${num(point.p50Ratio, 1)}, p99 relay/raw = ${num(point.p99Ratio, 1)}`);
      }
    }
    return [
      `Database: ${DB_NAMES[result.database]}.`,
      '',
      ...emulatorNote(kinds),
      drains,
      '',
      chart(
        'brokers-drain',
        barChart({
          title: "Drain per broker: relay vs the broker's own client (events/s, consumed)",
          unit: '/s',
          groups: kinds.map((kind) => ({
            label: BROKER_NAMES[kind],
            bars: [bar('outboxkit relay', result.perBroker[kind].drain.rate), bar('raw client', result.perBroker[kind].drain.rawRate)],
          })),
        }),
      ),
      '',
      'Steady state (relay: COMMIT -> consumer; raw client: send -> consumer; same arrival rate for both):',
      '',
      steadyTable(rows, 'system'),
      '',
      `Latency ratios: ${ratios.join('; ')}.`,
      '',
      chart('brokers-steady', percentileChart({ title: 'Steady state per broker: relay vs raw client latency (median-p99 run)', series })),
    ].join('\n');
  },
};

/**
 * What the figures of the cloud brokers are: taken on a local emulator, so a ratio to the official
 * client on that emulator, never a measure of the cloud service.
 */
function emulatorNote(kinds) {
  const emulated = kinds.filter((kind) => kind in EMULATORS);
  if (emulated.length === 0) return [];
  const list = emulated.map((kind) => `${BROKER_NAMES[kind]} on ${EMULATORS[kind]}`).join(', ');
  const batched = emulated.filter((kind) => kind === 'sqs' || kind === 'sns');
  return [
    `> **Emulators, not the cloud.** ${list}: these figures are taken on a local emulator the benchmark started on this machine, not on AWS or Google Cloud. ` +
      "They measure the relay's overhead relative to the official client on the same emulator, not AWS's or Google's speed (no network round trip, " +
      'no replication, the emulator sharing the cores): compare their ratios, not their rates, and never with a cloud figure.',
    ...(batched.length === 0
      ? []
      : [
          '>',
          `> ${batched.map((kind) => BROKER_NAMES[kind]).join(' and ')}: the relay's publisher sends concurrent publishes in batch requests (SendMessageBatch / PublishBatch, up to 10 messages), ` +
            'the raw client one SendMessage / Publish per message, so relay / raw can exceed 1.',
        ]),
    '',
  ];
}

/** The machine-CPU columns (µs per event by role) of one figure, `prefix` 'raw' for the raw publisher's. */
function cpuColumns(r, prefix = '') {
  return ['database', 'broker', 'benchmark', 'other', 'machine'].map((role) => spread(r[prefixed(`${role}UsPerEvent`, prefix)]));
}
const CPU_HEAD = ['database server', 'broker', 'benchmark processes', 'kernel and other', 'whole machine'];

/**
 * Where the machine's CPU went per event in each drain, relay vs raw publisher, and the ratio the
 * machine's CPU alone predicts once both cores are busy (raw / relay µs per event). Empty when the
 * figures are absent (off Linux, or a report from before they were taken).
 */
function drainMachineCpu(perSize) {
  const rows = [];
  for (const [count, perDatabase] of Object.entries(perSize)) {
    for (const [db, r] of Object.entries(perDatabase)) {
      if (!r.machineUsPerEvent || !r.rawMachineUsPerEvent) continue;
      const events = Number(count).toLocaleString('en');
      rows.push([DB_NAMES[db], events, 'relay', ...cpuColumns(r), spread(r.machineBusy, 2), spread(r.cpuBoundRatio, 2), spread(r.ratio, 2)]);
      rows.push([DB_NAMES[db], events, 'raw', ...cpuColumns(r, 'raw'), spread(r.rawMachineBusy, 2), '', '']);
    }
  }
  if (rows.length === 0) return '';
  return (
    'Where the CPU went (µs per event, user + system of every process of the role, from /proc, over the measured part; "benchmark processes" are the publishing child and the consumer; "kernel and other" is the rest of the machine\'s busy time, disk and network work in the kernel included; busy: the share of both cores\' time in use). With every server on the same cores, raw µs / relay µs is the ratio the CPU alone allows once the machine is busy:\n\n' +
    table(['database', 'events', 'publisher', ...CPU_HEAD.map((h) => `${h} µs/event`), 'busy', 'raw / relay machine µs', 'measured relay / raw'], rows) +
    '\n\n'
  );
}

/** The same split for each steady-state point, per committed event (producers included). */
function steadyMachineCpu(modes) {
  const rows = [];
  for (const [mode, points] of Object.entries(modes)) {
    for (const p of points)
      if (p.machineUsPerEvent) rows.push([mode, `${p.fraction * 100}%`, spread(p.achievedRate), ...cpuColumns(p), spread(p.machineBusy, 2)]);
  }
  if (rows.length === 0) return [];
  return [
    "CPU per committed event (µs; producers, relay and consumer are the benchmark process; the database server includes the producers' transactions):",
    '',
    table(['wake-up', 'target', 'achieved commits/s', ...CPU_HEAD.map((h) => `${h} µs/event`), 'busy'], rows),
    '',
  ];
}

function steadyRow(name, p) {
  const label = `${p.fraction * 100}% = ${num(p.targetRate)}/s`;
  if (!p.percentiles) return [name, label, String(p.producerConnections ?? ''), 'failed', '', '', '', '', '', '', '', (p.errors ?? []).join('; ')];
  const failed = p.errors?.length ? ` (${p.errors.length} run(s) failed)` : '';
  return [
    name,
    label,
    String(p.producerConnections ?? ''),
    spread(p.offeredRate),
    spread(p.achievedRate),
    spread(p.achievedShare, 2) + failed,
    spread(p.percentiles.p50, 1),
    spread(p.percentiles.p95, 1),
    spread(p.percentiles.p99, 1),
    spread(p.percentiles['p99.9'], 1),
    spread(p.maxProducerLagMs, 1),
    spread(p.cpuMs),
  ];
}

function steadyTable(rows, first = 'wake-up') {
  return table(
    [
      first,
      'target rate',
      'producer conns',
      'offered tx/s',
      'achieved commits/s',
      'achieved / target',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'p99.9 ms',
      'max producer lag ms',
      'CPU ms',
    ],
    rows,
  );
}
