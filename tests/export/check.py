#!/usr/bin/env python3
"""check.py - open csampler's exports in their real clients and compare with report.

  pprof      go tool pprof -top and -raw (Debian golang-go): each function's flat share
             equals report's self share; mappings carry file and build-id; inline
             chains are several lines of one location
  callgrind  callgrind_annotate (valgrind): the totals and each function's self cost
             equal report's
  gecko      the Firefox Profiler's Gecko format, checked against its documented
             structure: one thread per thread, tables that refer to rows that exist,
             samples per thread that add up to report's
  --leaks    pprof inuse_space/inuse_objects of a leak recording against report --leaks

Inputs: the committed perf script text (inline chains), and recordings of live
targets when this machine allows perf events (else those parts say SKIP).
Usage: check.py CSAMPLER TARGETS_DIR GOLDEN_DIR. Exit 77 when a client is missing.
"""
import csv, gzip, io, json, os, re, shutil, subprocess, sys, tempfile

CS, TARGETS, GOLDEN = sys.argv[1:4]
work = tempfile.mkdtemp(prefix='cs-export-')
env = dict(os.environ, GOCACHE=os.path.join(work, 'gocache'), GOFLAGS='-mod=mod',
           GOPROXY='off', GOTOOLCHAIN='local', HOME=work, PPROF_TMPDIR=work)
failures = []


def run(*args, ok=True, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=300, env=env, **kw)
    if ok and r.returncode != 0:
        raise SystemExit(f'FAIL: {" ".join(args)}: exit {r.returncode}: {r.stderr.strip()}')
    return r


def check(cond, what):
    print(('ok   ' if cond else 'FAIL ') + what)
    if not cond:
        failures.append(what)


for tool in ('go', 'callgrind_annotate'):
    if not shutil.which(tool):
        print(f'SKIP: {tool} is not installed (scripts/deps.sh test)')
        sys.exit(77)


def report_self(inp):
    """function -> self weight, and the total, from report's CSV."""
    out = run(CS, 'report', '-i', inp, '--format', 'csv', '--top', '0').stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    selfs = {}
    for r in rows:
        selfs[r['function']] = selfs.get(r['function'], 0) + int(r['self'])
    return selfs, sum(int(r['self']) for r in rows)


def pprof_top(path, index):
    out = run('go', 'tool', 'pprof', '-top', '-sample_index=' + index, '-nodefraction=0',
              '-nodecount=1000000', '-unit=' + ('B' if 'space' in index else 'ns'),
              path).stdout
    flat, total = {}, None
    for line in out.splitlines():
        m = re.match(r'Showing nodes accounting for (\S+), \S+ of (\S+) total', line)
        if m:
            total = m.group(2)
        m = re.match(r'\s*(\d+)(?:ns|B)?\s+\S+%\s+\S+%\s+(\d+)(?:ns|B)?\s+\S+%\s+(.*)$', line)
        if m:
            name = re.sub(r' \(inline\)$', '', m.group(3))
            flat[name] = flat.get(name, 0) + int(m.group(1))
    return flat, total, out


def check_pprof(inp, tag, index='0'):
    selfs, total = report_self(inp)
    out = os.path.join(work, tag + '.pb.gz')
    run(CS, 'export', '-f', 'pprof', '-i', inp, '-o', out)
    with open(out, 'rb') as f:
        check(f.read(2) == b'\x1f\x8b', f'{tag}: pprof output is gzip')
    flat, ptotal, text = pprof_top(out, index)
    check(sum(flat.values()) == total, f'{tag}: pprof flat total {sum(flat.values())} == report {total}')
    # Frames without a symbol: report merges them into one [module] row per module,
    # pprof shows each module+0xOFFSET: compare the named functions.
    named = {k: v for k, v in selfs.items() if not k.startswith('[')}
    bad = [(k, v, flat.get(k, 0)) for k, v in named.items() if flat.get(k, 0) != v]
    check(not bad, f'{tag}: every function\'s pprof flat equals report\'s self {bad[:3]}')
    top = max(named, key=named.get)
    share = 100.0 * named[top] / total
    m = re.search(r'^\s*\d+(?:ns)?\s+([\d.]+)%\s+\S+\s+\d+(?:ns)?\s+\S+\s+' + re.escape(top) + r'( \(inline\))?$',
                  text, re.M)
    check(m and abs(float(m.group(1)) - share) < 0.01,
          f'{tag}: pprof -top share of {top} {m and m.group(1)}% == report {share:.2f}%')
    raw = run('go', 'tool', 'pprof', '-raw', out).stdout
    return raw


# ---- perf script text with inline chains (no perf needed) ----
perf = os.path.join(GOLDEN, 'perf-dwarf.txt')
raw = check_pprof(perf, 'perf-dwarf')
check('PeriodType' not in raw or 'cpu' in raw, 'perf-dwarf: raw profile readable')
check(re.search(r'^samples/count|^cpu/nanoseconds', raw, re.M) is not None,
      'perf-dwarf: a sample type cpu/nanoseconds (cpu-clock periods)')
# a location with an inline chain: several lines under one address
locs = raw.split('Locations', 1)[1].split('Mappings', 1)[0]
multi = re.search(r'^\s+\d+: 0x[0-9a-f]+ M=\d+ .*\n\s{10,}\S.*$', locs, re.M)
check(multi is not None, 'perf-dwarf: inline chains are several lines of one location')
check('ld-linux-x86-64.so.2' in raw.split('Mappings', 1)[1], 'perf-dwarf: mappings carry their file')

# callgrind on the same input
selfs, total = report_self(perf)
cg = os.path.join(work, 'perf.callgrind')
run(CS, 'export', '-f', 'callgrind', '-i', perf, '-o', cg)
ann = run('callgrind_annotate', '--threshold=100', '--auto=no', cg).stdout
m = re.search(r'^\s*([\d,]+) \(100.0%\)\s+PROGRAM TOTALS', ann, re.M)
check(m and int(m.group(1).replace(',', '')) == total,
      f'callgrind: callgrind_annotate totals {m and m.group(1)} == report {total}')
cgself = {}
for mm in re.finditer(r'^\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*?:(.+?) \[', ann, re.M):
    cgself[mm.group(2)] = cgself.get(mm.group(2), 0) + int(mm.group(1).replace(',', ''))
named = {k: v for k, v in selfs.items() if not k.startswith('[')}
bad = [(k, v, cgself.get(k)) for k, v in named.items() if cgself.get(k, 0) != v]
check(not bad, f'callgrind: each function\'s self equals report\'s {bad[:3]}')
# inclusive: the call to burn carries report's total of burn
text = open(cg).read()
check(re.search(r'^cfn=\(\d+\)( burn)?$', text, re.M) is not None, 'callgrind: calls of burn are written')


def gecko_check(inp, tag):
    selfs, total = report_self(inp)
    out = os.path.join(work, tag + '.gecko.json')
    run(CS, 'export', '-f', 'gecko', '-i', inp, '-o', out)
    g = json.load(open(out))
    ok = True
    for k in ('version', 'interval', 'startTime', 'processType', 'product', 'categories'):
        ok &= k in g['meta']
    ok &= isinstance(g['libs'], list) and isinstance(g['threads'], list) and len(g['threads']) > 0
    cats = len(g['meta']['categories'])
    nsamples = 0
    leaf = {}
    for t in g['threads']:
        for k in ('name', 'pid', 'tid', 'registerTime', 'unregisterTime', 'processType',
                  'samples', 'markers', 'stackTable', 'frameTable', 'stringTable'):
            ok &= k in t
        ss, st, ft = t['samples']['schema'], t['stackTable']['schema'], t['frameTable']['schema']
        strings, frames, stacks = t['stringTable'], t['frameTable']['data'], t['stackTable']['data']
        for i, s in enumerate(stacks):
            pre, fr = s[st['prefix']], s[st['frame']]
            ok &= (pre is None or 0 <= pre < i) and 0 <= fr < len(frames)
        for f in frames:
            ok &= 0 <= f[ft['location']] < len(strings) and 0 <= f[ft['category']] < cats
        last = -1
        for s in t['samples']['data']:
            stk, time = s[ss['stack']], s[ss['time']]
            ok &= 0 <= stk < len(stacks) and time >= last
            last = time
            name = strings[frames[stacks[stk][st['frame']]][ft['location']]]
            leaf[name] = leaf.get(name, 0) + 1
        nsamples += len(t['samples']['data'])
    check(ok, f'{tag}: gecko structure (meta, threads, tables refer to existing rows, times rise)')
    return g, nsamples, leaf, selfs, total


# ---- live recordings (perf events needed) ----
def record(name):
    """Record target name (which runs until killed) for 1.5 s by pid."""
    data = os.path.join(work, name + '.data')
    t = subprocess.Popen([os.path.join(TARGETS, name)], stdout=subprocess.PIPE, text=True)
    try:
        t.stdout.readline()  # "ready"
        r = run(CS, 'record', '-q', '-F', '499', '-d', '1.5', '-o', data, '--pid', str(t.pid),
                ok=False)
    finally:
        t.kill()
        t.wait()
    if r.returncode != 0:
        print(f'SKIP live recordings: csampler record failed: {r.stderr.strip()[:200]}')
        return None
    return data


g, n, leaf, selfs, total = gecko_check(perf, 'perf-dwarf')
check(n == 30, f'perf-dwarf: gecko has one sample per perf sample ({n} == 30)')

thr = record('cs_t_threads')
if thr:
    check_pprof(thr, 'threads')
    raw = run('go', 'tool', 'pprof', '-raw', os.path.join(work, 'threads.pb.gz')).stdout
    check(re.search(r'^samples/count cpu/nanoseconds', raw, re.M) is not None,
          'threads: pprof sample types samples/count and cpu/nanoseconds')
    check(re.search(r'build_id=|[0-9a-f]{40}', raw.split('Mappings', 1)[1]) is not None,
          'threads: pprof mappings carry build-ids')
    check('thread:[heavy' in raw and 'thread:[light' in raw, 'threads: samples carry thread labels')
    g, n, leaf, selfs, total = gecko_check(thr, 'threads')
    names = sorted(t['name'].split(' (')[0] for t in g['threads'])
    check('heavy' in names and 'light' in names, f'threads: one gecko thread per thread {names}')
    check(n == total, f'threads: gecko samples {n} == report samples {total}')
    named = {k: v for k, v in selfs.items() if not k.startswith('[')}
    bad = [(k, v, leaf.get(k)) for k, v in named.items() if leaf.get(k, 0) != v]
    check(not bad, f'threads: gecko leaf frames count report\'s self samples {bad[:3]}')
    interval = g['meta']['interval']
    heavy = [t for t in g['threads'] if t['name'].startswith('heavy')][0]
    times = [s[1] for s in heavy['samples']['data']]
    check(abs(times[-1] - (len(times) - 1) * interval) < 1e-3 * len(times),
          'threads: gecko sample times step by the sampling interval')

inl = record('cs_t_inline')
if inl:
    check_pprof(inl, 'inline')

leaky = os.path.join(TARGETS, 'cs_t_leaky')
if os.path.exists(leaky):
    data = os.path.join(work, 'leaks.data')
    r = run(CS, 'leaks', '-q', '-o', data, '--', leaky, ok=False)
    if r.returncode == 0 and os.path.exists(data):
        js = json.loads(run(CS, 'report', '--leaks', '--format', 'json', '-i', data).stdout)
        snap = js['snapshots'][-1]
        bytes_ = sum(s['bytes'] for s in snap['sites'])
        blocks = sum(s['blocks'] for s in snap['sites'])
        out = os.path.join(work, 'heap.pb.gz')
        run(CS, 'export', '-f', 'pprof', '--leaks', '-i', data, '-o', out)
        raw = run('go', 'tool', 'pprof', '-raw', out).stdout
        check(re.search(r'^inuse_space/bytes inuse_objects/count', raw, re.M) is not None,
              'leaks: pprof sample types inuse_space/bytes and inuse_objects/count')
        sp, _, _ = pprof_top(out, 'inuse_space')
        ob, _, _ = pprof_top(out, 'inuse_objects')
        check(sum(sp.values()) == bytes_ and sum(ob.values()) == blocks,
              f'leaks: pprof inuse {sum(sp.values())} B / {sum(ob.values())} objects == '
              f'report --leaks {bytes_} B / {blocks} blocks')
    else:
        print(f'SKIP leaks: csampler leaks failed: {r.stderr.strip()[:200]}')

# bad input: one line, no output file
bad_in = os.path.join(work, 'bad.txt')
open(bad_in, 'w').write('not a profile\n')
dest = os.path.join(work, 'never.pb.gz')
r = run(CS, 'export', '-f', 'pprof', '-i', bad_in, '-o', dest, ok=False)
check(r.returncode != 0 and not os.path.exists(dest) and r.stderr.count('\n') == 1
      and r.stderr.startswith('csampler'), 'bad input: one error line, no output file')
r = run(CS, 'export', '-f', 'svg', '-i', perf, ok=False)
check(r.returncode == 2 and 'pprof' in r.stderr, 'an unknown format names the formats')
r = run(CS, 'export', '-f', 'pprof', '--time', 'off', '-i', perf, ok=False)
check(r.returncode == 1 and r.stderr.count('\n') == 1 and 'record --wall' in r.stderr,
      '--time off of a CPU profile: one line naming record --wall')
r = run(CS, 'export', '-f', 'pprof', '--time', 'gpu', '-i', perf, ok=False)
check(r.returncode == 2, 'an unknown --time is a usage error')

shutil.rmtree(work, ignore_errors=True)
if failures:
    print(f'{len(failures)} check(s) failed')
    sys.exit(1)
print('all export checks passed')
