#!/usr/bin/env python3
"""Validate cases.tsv (the similar/duplicate detector corpus) and print its counts."""
import itertools, re, sys
from collections import Counter, defaultdict

PATH = sys.argv[1] if len(sys.argv) > 1 else __file__.rsplit('/', 1)[0] + '/cases.tsv'
HEADER = 'id\tat_min\trequester\tcategory\tgroup\tsubject\tbody'
CATS = ['break_fix', 'security_access', 'acquisition', 'training', 'scheduled_maintenance',
        'inventory', 'process', 'conference_support', 'uncategorized']
WINDOW = 3 * 1440  # "within 3 days" for the labelled non-link pairs
STOP = set('''the and for you are but not with this that have has had was were been any can could would should
will just all our your from they them their there what when who how why get got its it's also too out about
into over again still some one two thing anyone else please thanks thank hello morning hope well sent iphone
phone asap help know let need does did don't can't won't isn't doesn't didn't i'm i've we're it's fyi today
yesterday tomorrow now here work working works someone something come look like sure via more very really
much then than only even just off'''.split())

errors = []
def err(msg):
    errors.append(msg)

raw = open(PATH, 'rb').read()
try:
    text = raw.decode('utf-8')
except UnicodeDecodeError as e:
    sys.exit(f'not UTF-8: {e}')
if '\r' in text:
    err('file contains carriage returns')
lines = text.split('\n')
if lines and lines[-1] == '':
    lines.pop()
if not lines or lines[0] != HEADER:
    err('bad header')
rows = []
for n, line in enumerate(lines[1:], 2):
    f = line.split('\t')
    if len(f) != 7:
        err(f'line {n}: {len(f)} fields (a tab or raw newline inside a field?)')
        continue
    i, at, req, cat, grp, subj, body = f
    if not i.isdigit() or int(i) != n - 1:
        err(f'line {n}: id {i!r}, expected {n - 1}')
    if not at.isdigit():
        err(f'line {n}: at_min {at!r} is not a whole number')
        at = '0'
    if rows and int(at) < rows[-1]['at']:
        err(f'line {n}: at_min decreases')
    if not re.fullmatch(r'[a-z]+(\.[a-z]+)+@[a-z0-9-]+\.k12\.example', req):
        err(f'line {n}: bad requester {req!r}')
    if cat not in CATS:
        err(f'line {n}: bad category {cat!r}')
    if not re.fullmatch(r'g[0-9]+|-', grp):
        err(f'line {n}: bad group {grp!r}')
    if not subj.strip() or not body.strip():
        err(f'line {n}: empty subject or body')
    rows.append(dict(id=len(rows) + 1, at=int(at), req=req, cat=cat, grp=grp, text=subj + ' ' + body))

groups = defaultdict(list)
for r in rows:
    if r['grp'] != '-':
        groups[r['grp']].append(r)
kind = {}
for g, ms in groups.items():
    if len(ms) < 2:
        err(f'{g}: only {len(ms)} message')
    if len({m['cat'] for m in ms}) != 1:
        err(f'{g}: more than one category')
    reqs = [m['req'] for m in ms]
    span = ms[-1]['at'] - ms[0]['at']
    if len(set(reqs)) == 1:
        kind[g] = 'duplicate'
        if not all(2 <= b['at'] - a['at'] for a, b in zip(ms, ms[1:])) or span > 120:
            err(f'{g}: duplicate group outside 2..120 minutes')
    elif len(set(reqs)) == len(reqs):
        kind[g] = 'related'
        if not all(5 <= b['at'] - a['at'] for a, b in zip(ms, ms[1:])) or span > 180:
            err(f'{g}: incident group outside 5..180 minutes')
    else:
        err(f'{g}: mixes repeated and distinct requesters')

def words(t):
    return {w for w in re.findall(r"[a-z0-9][a-z0-9'-]*", t.replace('\\n', ' ').lower())
            if len(w) > 2 and w not in STOP and not w.isdigit()}

pairs = Counter()
for a, b in itertools.combinations(rows, 2):
    if a['grp'] != '-' and a['grp'] == b['grp']:
        pairs['duplicate' if a['req'] == b['req'] else 'related'] += 1
    elif a['cat'] == b['cat'] and abs(a['at'] - b['at']) <= WINDOW:
        pairs['non-link'] += 1
        site = lambda r: r['req'].split('@')[1]
        if a['req'] == b['req']:
            pairs['non-link, same requester'] += 1
        elif site(a) == site(b):
            pairs['non-link, same site'] += 1
        if len(words(a['text']) & words(b['text'])) >= 3:
            pairs['non-link sharing >= 3 content words'] += 1
overlap = {g: [len(words(a['text']) & words(b['text'])) for a, b in itertools.combinations(ms, 2)]
           for g, ms in groups.items() if kind.get(g) == 'related'}

if errors:
    print('\n'.join(errors))
    sys.exit(f'FAIL: {len(errors)} error(s)')
sizes = lambda k: Counter(len(ms) for g, ms in groups.items() if kind[g] == k)
print(f'OK  {PATH}')
print(f'messages: {len(rows)}  (at_min {rows[0]["at"]}..{rows[-1]["at"]})')
print(f'requesters: {len({r["req"] for r in rows})}  sites: {len({r["req"].split("@")[1] for r in rows})}')
print('categories: ' + ', '.join(f'{c} {n}' for c, n in Counter(r['cat'] for r in rows).most_common()))
for k in ('related', 'duplicate'):
    n = sum(1 for g in kind if kind[g] == k)
    m = sum(len(groups[g]) for g in kind if kind[g] == k)
    print(f'{k} groups: {n} ({m} messages; sizes ' +
          ', '.join(f'{s}x{c}' for s, c in sorted(sizes(k).items())) + ')')
print(f'singletons: {sum(1 for r in rows if r["grp"] == "-")}')
print('related groups with a pair sharing <= 2 content words: '
      f'{sum(min(o) <= 2 for o in overlap.values())}; where every pair does: '
      f'{sum(max(o) <= 2 for o in overlap.values())}')
for k in ('related', 'duplicate', 'non-link', 'non-link, same requester', 'non-link, same site',
          'non-link sharing >= 3 content words'):
    print(f'pairs {k}: {pairs[k]}')
