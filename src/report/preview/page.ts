import { createHash } from 'node:crypto';
import type { RowStatus } from '../../ledger/lines.js';
import { escapeHtml as e, scriptJson } from './html.js';

// The contact sheet's HTML, in the three pieces the writer streams: the head (styles, summary bar,
// controls, and the opening of the rows block), one JSON line per row as rows finish, and the tail
// (run facts and the script). The script builds cards from the rows a batch at a time as the page
// is scrolled, so 10 000 rows cost 10 000 small objects, not 10 000 laid-out cards: counting,
// filtering, searching and sorting work on the data and re-render only what is on screen.
// Nothing is fetched: styles and script are inline, pictures are relative paths into the sibling
// folder, and the Content-Security-Policy forbids every other load and any other script, so the
// file works from file:// and cannot reach the network.

export interface SheetMeta {
  readonly title: string;
  /** Shown under the title: run id, CSV, target, when. */
  readonly facts: readonly string[];
  readonly dryRun: boolean;
}

export interface CardData {
  readonly row: number;
  readonly line?: number;
  readonly user: string;
  readonly target: string;
  readonly status: RowStatus;
  /** Status as people read it: sent, would send, skipped (unchanged) … */
  readonly label: string;
  readonly code?: string;
  readonly message?: string;
  /** How the pictures were made, when that is not simply "by this run" (ledger preview). */
  readonly note?: string;
  /** Values of the sheet's display columns, in their order. */
  readonly values: readonly string[];
  /** Relative URLs of the thumbnails, or why there is none. */
  readonly source: { readonly src: string } | { readonly none: string };
  readonly avatar: { readonly src: string } | { readonly none: string };
}

/** One row as the page's script reads it (short keys: 10 000 of these are in the file). */
export interface SheetRow {
  r: number; l?: number; u: string; t: string; s: CardData['status']; b: string;
  c?: string; m?: string; n?: string; f: readonly string[];
  /** Source picture URL, or `x`: why there is none. Same for the avatar with a / y. */
  i?: string; x?: string; a?: string; y?: string;
}

const STYLE = `
:root{color-scheme:light;--ok:#1a7f37;--skipped:#6e7781;--failed:#cf222e;--bg:#f6f8fa;--card:#fff;--line:#d0d7de}
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:#1f2328}
header{position:sticky;top:0;z-index:1;background:#fff;border-bottom:1px solid var(--line);padding:10px 16px}
h1{font-size:16px;margin:0 0 2px}
.facts{color:#57606a;font-size:12px;margin:0 0 8px}
.facts span+span::before{content:" · "}
#summary{display:flex;flex-wrap:wrap;gap:6px;margin-bottom:8px}
#summary button{border:1px solid var(--line);background:#fff;border-radius:12px;padding:2px 10px;cursor:pointer;font:inherit}
#summary button.on{outline:2px solid #0969da}
#summary .failed{color:var(--failed)}#summary .ok{color:var(--ok)}#summary .skipped{color:var(--skipped)}
.controls{display:flex;flex-wrap:wrap;gap:8px;align-items:center}
.controls label{font-size:12px;color:#57606a}
.controls select,.controls input{font:inherit;padding:2px 4px}
#shown{font-size:12px;color:#57606a}
#cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:10px;padding:12px 16px}
.card{display:flex;gap:10px;background:var(--card);border:1px solid var(--line);border-left:4px solid var(--skipped);border-radius:6px;padding:8px}
.card[data-status=ok]{border-left-color:var(--ok)}.card[data-status=failed]{border-left-color:var(--failed)}
.pics{display:flex;gap:4px;flex:none}
figure{margin:0;text-align:center;font-size:10px;color:#57606a}
figure img,figure .none{display:block;width:64px;height:64px;object-fit:contain;background:#eaeef2;border-radius:4px}
figure .none{display:flex;align-items:center;justify-content:center;text-align:center;font-size:9px;padding:2px;color:#6e7781}
.body{min-width:0;flex:1}
.body h2{font-size:14px;margin:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.where{margin:0;font-size:11px;color:#57606a}
dl{margin:2px 0;font-size:12px;display:grid;grid-template-columns:auto 1fr;column-gap:6px}
dt{color:#57606a}dd{margin:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.st{margin:2px 0 0;font-weight:600;font-size:12px}
.st.ok{color:var(--ok)}.st.skipped{color:var(--skipped)}.st.failed{color:var(--failed)}
.msg{margin:2px 0 0;font-size:12px;color:#57606a;overflow-wrap:anywhere}
.note{margin:2px 0 0;font-size:11px;font-style:italic;color:#6e7781;overflow-wrap:anywhere}
#more{height:1px}
footer{padding:8px 16px 24px;color:#57606a;font-size:12px}
#rows{display:none}
`;

// Cards are built with DOM calls and textContent only: no value from the CSV is ever parsed as
// HTML. `BATCH` cards are added whenever the end of the list comes near the screen.
const SCRIPT = `
(function(){
  var BATCH=120;
  var run=JSON.parse(document.getElementById('run').textContent);
  var rows=document.getElementById('rows').textContent.split('\\n').filter(Boolean).map(function(t){return JSON.parse(t);});
  var main=document.getElementById('cards'),more=document.getElementById('more');
  var counts={ok:0,skipped:0,failed:0},codes={};
  rows.forEach(function(r){
    counts[r.s]++;if(r.c)codes[r.c]=(codes[r.c]||0)+1;
    r.h=[r.u,r.c||'',r.m||'',r.b].concat(r.f).join('\\n').toLowerCase();
  });
  var state={status:'',code:'',q:'',sort:'failures'},view=[],shownCount=0;
  var summary=document.getElementById('summary'),statusSel=document.getElementById('status'),codeSel=document.getElementById('code');
  var q=document.getElementById('q'),sortSel=document.getElementById('sort'),shown=document.getElementById('shown');
  function el(tag,cls,text){var n=document.createElement(tag);if(cls)n.className=cls;if(text!=null)n.textContent=text;return n;}
  function chip(text,cls,onClick,key){
    var b=el('button',cls,text);b.type='button';b.setAttribute('data-key',key);b.addEventListener('click',onClick);summary.appendChild(b);
  }
  chip(rows.length+' rows','all',function(){set('','');},'all');
  ['failed','ok','skipped'].forEach(function(s){
    chip(counts[s]+' '+(s==='ok'&&run.dryRun?'would send':s),s,function(){set(s,'');},'status:'+s);
  });
  Object.keys(codes).sort(function(a,b){return codes[b]-codes[a]||(a<b?-1:1);}).forEach(function(code){
    chip(codes[code]+' '+code,'failed',function(){set('failed',code);},'code:'+code);
    var o=el('option',null,code+' ('+codes[code]+')');o.value=code;codeSel.appendChild(o);
  });
  function picture(kind,who,src,none){
    var f=el('figure');
    if(src){var i=el('img');i.loading='lazy';i.decoding='async';i.width=64;i.height=64;i.alt=kind+' of '+who;i.src=src;f.appendChild(i);}
    else f.appendChild(el('div','none',none||''));
    f.appendChild(el('figcaption',null,kind));return f;
  }
  function card(r){
    var who=r.u||('row '+r.r),a=el('article','card');
    a.id='row-'+r.r;a.setAttribute('data-row',r.r);a.setAttribute('data-status',r.s);a.setAttribute('data-user',r.u);if(r.c)a.setAttribute('data-code',r.c);
    var pics=el('div','pics');pics.appendChild(picture('source',who,r.i,r.x));pics.appendChild(picture('avatar',who,r.a,r.y));a.appendChild(pics);
    var b=el('div','body'),h=el('h2',null,who);h.title=r.u;b.appendChild(h);
    b.appendChild(el('p','where','row '+r.r+(r.l!=null?' · line '+r.l:'')+(run.targets>1?' · '+r.t:'')));
    if(run.columns.length){var dl=el('dl');run.columns.forEach(function(c,k){dl.appendChild(el('dt',null,c));var dd=el('dd',null,r.f[k]||'');dd.title=r.f[k]||'';dl.appendChild(dd);});b.appendChild(dl);}
    var st=el('p','st '+r.s,r.b);if(r.c){st.appendChild(document.createTextNode(' · '));st.appendChild(el('code',null,r.c));}b.appendChild(st);
    if(r.m)b.appendChild(el('p','msg',r.m));
    if(r.n)b.appendChild(el('p','note',r.n));
    a.appendChild(b);return a;
  }
  function set(status,code){state.status=status;state.code=code;statusSel.value=status;codeSel.value=code;refresh();}
  var rank={failed:0,ok:1,skipped:2};
  function refresh(){
    var needle=state.q.trim().toLowerCase(),by=state.sort;
    view=rows.filter(function(r){return(!state.status||r.s===state.status)&&(!state.code||r.c===state.code)&&(!needle||r.h.indexOf(needle)>=0);});
    view.sort(function(a,b){
      if(by==='failures'&&rank[a.s]!==rank[b.s])return rank[a.s]-rank[b.s];
      if(by==='user'&&a.u!==b.u)return a.u<b.u?-1:1;
      return a.r-b.r;
    });
    main.textContent='';shownCount=0;fill();
    shown.textContent='showing '+view.length+' of '+rows.length;
    Array.prototype.forEach.call(summary.children,function(b){
      b.classList.toggle('on',b.getAttribute('data-key')===(state.code?'code:'+state.code:state.status?'status:'+state.status:'all'));
    });
  }
  function fill(){
    // Add batches until the end of the list is well below the screen (or the list is done).
    while(shownCount<view.length&&more.getBoundingClientRect().top<innerHeight*2){
      var f=document.createDocumentFragment(),end=Math.min(shownCount+BATCH,view.length);
      for(;shownCount<end;shownCount++)f.appendChild(card(view[shownCount]));
      main.appendChild(f);
    }
  }
  new IntersectionObserver(function(){fill();},{rootMargin:'0px 0px 100% 0px'}).observe(more);
  addEventListener('scroll',fill,{passive:true});addEventListener('resize',fill);
  statusSel.addEventListener('change',function(){state.status=statusSel.value;refresh();});
  codeSel.addEventListener('change',function(){state.code=codeSel.value;refresh();});
  q.addEventListener('input',function(){state.q=q.value;refresh();});
  sortSel.addEventListener('change',function(){state.sort=sortSel.value;refresh();});
  refresh();
  document.body.setAttribute('data-ready','');
})();
`;

// file: and 'self' for the thumbnails next to the page; nothing else may load, and only this
// page's own script may run (by hash), so a value that slipped through escaping could not run.
const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64');
const CSP = `default-src 'none'; img-src 'self' file:; style-src 'unsafe-inline'; script-src 'sha256-${SCRIPT_HASH}'; base-uri 'none'; form-action 'none'`;

export function head(meta: SheetMeta): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(meta.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${e(meta.title)}</h1>
<p class="facts">${meta.facts.map((fact) => `<span>${e(fact)}</span>`).join('')}</p>
<div id="summary"></div>
<div class="controls">
<label>status <select id="status"><option value="">all</option><option value="failed">failed</option><option value="ok">${meta.dryRun ? 'would send' : 'ok'}</option><option value="skipped">skipped</option></select></label>
<label>error code <select id="code"><option value="">all</option></select></label>
<label>search <input id="q" type="search" placeholder="user, name, code …"></label>
<label>sort <select id="sort"><option value="failures">failures first</option><option value="row">by row</option><option value="user">by user</option></select></label>
<span id="shown"></span>
</div>
</header>
<main id="cards"></main>
<div id="more"></div>
<script type="text/plain" id="rows">
`;
}

/** One row's line in the rows block: JSON with every "<" escaped, so it cannot end the block. */
export function rowLine(data: CardData): string {
  const row: SheetRow = {
    r: data.row, ...(data.line === undefined ? {} : { l: data.line }), u: data.user, t: data.target, s: data.status, b: data.label,
    ...(data.code ? { c: data.code } : {}), ...(data.message ? { m: data.message } : {}), ...(data.note ? { n: data.note } : {}),
    f: data.values,
    ...('src' in data.source ? { i: data.source.src } : { x: data.source.none }),
    ...('src' in data.avatar ? { a: data.avatar.src } : { y: data.avatar.none }),
  };
  return scriptJson(row) + '\n';
}

export interface SheetEnd {
  readonly dryRun: boolean;
  /** The display columns, in the order of each row's values. */
  readonly columns: readonly string[];
  /** How many targets the run had: cards name theirs only when there are several. */
  readonly targets: number;
  /** Said at the bottom: interrupted, aborted, rows written … */
  readonly notes: readonly string[];
}

export function tail(end: SheetEnd): string {
  return `</script>
<footer>${end.notes.map((note) => `<p>${e(note)}</p>`).join('')}</footer>
<script type="application/json" id="run">${scriptJson({ dryRun: end.dryRun, columns: end.columns, targets: end.targets })}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
