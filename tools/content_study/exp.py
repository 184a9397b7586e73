"""Evaluate estimators on the dumped corpus."""
import sys, functools
import numpy as np
from lab import *

TALK = [c for c, r in M.items() if r['role'] == 'talk']
FOREIGN = [("latentsync-demo1", "latentsync-demo1-audio"), ("latentsync-demo2", "latentsync-demo2-audio"),
           ("latentsync-demo3", "latentsync-demo3-audio")] + \
          [(f"retalk-face{i}", f"retalk-audio{j}") for j in (1, 2) for i in range(1, 6)] + \
          [("musetalk-sun", "musetalk-sun-audio"), ("wav2lip-mona-out", "wav2lip-ses"), ("wav2lip-kennedy-out", "wav2lip-ses")]
SAME = [["wav2lip-mona-out", "wav2lip-kennedy-out"], ["aoc-hdtf", "aoc-vexpress", "retalk-face3"], ["emo-hb", "fantasy-23fps"]]
def same_rec(a, b):
    return any(a in g and b in g for g in SAME)

@functools.lru_cache(None)
def clip(cid):
    return load(cid)

@functools.lru_cache(None)
def afeat_of(cid, ext=False):
    if ext:
        a = load_audio_file(cid)
        return audio_features(a), 0.0
    c = clip(cid)
    return audio_features(c['audio']), c['astart']

@functools.lru_cache(None)
def lipsets(cid):
    """list of (name, frame idx, features dict) candidates: each track + largest."""
    c = clip(cid)
    rec = c['rec']
    n = len(c['times'])
    out = []
    tr = tracks(c)
    for tid, (idx, pts) in tr.items():
        if len(idx) < 0.2 * n:
            continue
        out.append((f'face {tid}', idx, lip_features(pts)))
    if len(tr) > 1:
        # largest per frame
        eye = np.linalg.norm(rec[:, 3 + 2 * 33:3 + 2 * 33 + 2] - rec[:, 3 + 2 * 263:3 + 2 * 263 + 2], axis=1)
        best = {}
        for i, (fi, e) in enumerate(zip(rec[:, 0].astype(int), eye)):
            if fi not in best or e > eye[best[fi]]:
                best[fi] = i
        rows = np.array([best[k] for k in sorted(best)])
        pts = rec[rows, 3:].reshape(-1, 468, 2)
        out.append(('largest', rec[rows, 0].astype(int), lip_features(pts)))
    return out

def pairs():
    """(kind, video id, audio id, ext audio?)"""
    ps = [('talk', c, c, False) for c in TALK]
    for v, a in FOREIGN:
        ps.append(('foreign', v, a, True))
    for i, c in enumerate(TALK):
        for step in (1, 7, 13):
            o = TALK[(i + step) % len(TALK)]
            if o != c and not same_rec(c, o):
                ps.append(('cross', c, o, M[o]['role'] == 'silent-video'))
    for c, r in M.items():
        if r['role'] == 'no-speech':
            ps.append(('nospeech', c, c, False))
    return ps

def run(estimator, verbose=True, only=None):
    res = []
    for kind, v, a, ext in pairs():
        if only and kind not in only:
            continue
        af, astart = afeat_of(a, ext)
        if kind == 'cross' and not ext:
            astart = 0.0 + (afeat_of(a)[1])
        c = clip(v)
        best = None
        for name, idx, lf in lipsets(v):
            r = estimator(af, astart, c['times'], idx, lf)
            if r is None:
                continue
            if best is None or r['z'] > best['z']:
                best = dict(r, face=name)
        res.append(dict(kind=kind, v=v, a=a, **(best or dict(z=-9, lag_ms=np.nan))))
    return res

def summarize(res, min_z, lead_ms=0.0, show=True):
    pos = [r for r in res if r['kind'] == 'talk']
    neg = [r for r in res if r['kind'] != 'talk']
    def offs(r):
        return -r['lag_ms'] + lead_ms
    ok = lambda r, lim: r['z'] >= min_z and abs(offs(r)) <= lim
    out = {}
    for label, sel in [('all', pos), ('real', [r for r in pos if M[r['v']]['origin'] == 'real']),
                       ('gen', [r for r in pos if M[r['v']]['origin'] == 'generated']),
                       ('short', [r for r in pos if float(M[r['v']]['duration_s']) < 10]),
                       ('long', [r for r in pos if float(M[r['v']]['duration_s']) >= 10])]:
        n = len(sel)
        out[label] = (sum(ok(r, 40) for r in sel), sum(ok(r, 22) for r in sel),
                      sum(r['z'] < min_z for r in sel), n)
    nrej = sum(r['z'] < min_z for r in neg)
    out['neg'] = (nrej, len(neg))
    fail_b = sum(r['z'] >= min_z and not (-90 <= offs(r) <= 30) for r in pos)
    out['fail_broadcast'] = fail_b
    if show:
        s = ' '.join(f"{k}:{v[0]}/{v[1]}/inc{v[2]}/{v[3]}" for k, v in out.items() if k not in ('neg', 'fail_broadcast'))
        print(f"minz {min_z:.2f} lead {lead_ms:+.0f}: {s} | neg rej {out['neg'][0]}/{out['neg'][1]} | failB {fail_b}")
    return out

def table(res, lead_ms=0.0):
    for r in res:
        if r['kind'] == 'talk':
            print(f"  {r['v']:<22} {M[r['v']]['origin']:<9} {M[r['v']]['duration_s']:>6} raw {-r['lag_ms']:+7.1f} off {-r['lag_ms']+lead_ms:+7.1f} z {r['z']:5.2f} {r.get('face','')}")
    zs = sorted([r['z'] for r in res if r['kind'] != 'talk'])
    print('  neg z:', ' '.join(f'{z:.1f}' for z in zs))
