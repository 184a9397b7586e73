from multi import *
import pickle
res = pickle.load(open(f'{D}/res_multi.pkl','rb'))
rows=[]
for r in res:
    if r['kind']!='talk' or r['z']<2.0 or abs(r['lag_ms'])>200: continue
    af,_ = afeat_of(r['v'])
    e = af['speech']-np.mean(af['speech'])
    sp = np.abs(np.fft.rfft(e*np.hanning(len(e)), 8192))**2
    f = np.fft.rfftfreq(8192, 0.01)
    band=(f>2)&(f<8)
    fc = (sp[band]*f[band]).sum()/sp[band].sum()
    # lip modulation centroid
    rows.append((r['v'], -r['lag_ms'], fc))
    print(f"{r['v']:<22} raw {-r['lag_ms']:+6.0f} rate {fc:4.2f} Hz")
a=np.array([x[1] for x in rows]); b=np.array([x[2] for x in rows])
print('corr', np.corrcoef(a,b)[0,1])
