import { createHash } from 'node:crypto';
import { escapeHtml as e, scriptJson } from './html.js';

// The contact sheet's HTML, in the three pieces the writer streams: the head (styles, summary bar,
// controls), one card per row as rows finish, and the tail (run facts and the script that counts,
// filters and sorts). Nothing is fetched: styles and script are inline, pictures are relative
// paths into the sibling folder, and the Content-Security-Policy forbids every other load, so the
// file works from file:// and cannot reach the network even if a value slipped through escaping.

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
  readonly status: 'ok' | 'skipped' | 'failed';
  /** Status as people read it: sent, would send, skipped (unchanged) … */
  readonly label: string;
  readonly code?: string;
  readonly message?: string;
  /** How the pictures were made, when that is not simply "by this run" (ledger preview). */
  readonly note?: string;
  readonly columns: ReadonlyArray<readonly [string, string]>;
  /** Relative URLs of the thumbnails, or why there is none. */
  readonly source: { readonly src: string } | { readonly none: string };
  readonly avatar: { readonly src: string } | { readonly none: string };
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
.card{display:flex;gap:10px;background:var(--card);border:1px solid var(--line);border-left:4px solid var(--skipped);border-radius:6px;padding:8px;content-visibility:auto;contain-intrinsic-size:auto 120px}
.card[data-status=ok]{border-left-color:var(--ok)}.card[data-status=failed]{border-left-color:var(--failed)}
.card[hidden]{display:none}
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
footer{padding:8px 16px 24px;color:#57606a;font-size:12px}
`;

const SCRIPT = `
(function(){
  var main=document.getElementById('cards');
  var run=JSON.parse(document.getElementById('run').textContent);
  var cards=Array.prototype.map.call(main.children,function(el){
    return {el:el,row:+el.getAttribute('data-row'),status:el.getAttribute('data-status'),code:el.getAttribute('data-code')||'',user:el.getAttribute('data-user'),text:el.textContent.toLowerCase()};
  });
  var counts={ok:0,skipped:0,failed:0},codes={};
  cards.forEach(function(c){counts[c.status]++;if(c.code)codes[c.code]=(codes[c.code]||0)+1;});
  var state={status:'',code:'',q:'',sort:'failures'};
  var summary=document.getElementById('summary'),statusSel=document.getElementById('status'),codeSel=document.getElementById('code');
  var q=document.getElementById('q'),sortSel=document.getElementById('sort'),shown=document.getElementById('shown');
  function chip(text,cls,onClick,key){
    var b=document.createElement('button');b.type='button';b.className=cls;b.textContent=text;b.setAttribute('data-key',key);
    b.addEventListener('click',onClick);summary.appendChild(b);return b;
  }
  chip(cards.length+' rows','all',function(){set('','');},'all');
  ['failed','ok','skipped'].forEach(function(s){
    chip(counts[s]+' '+(s==='ok'&&run.dryRun?'would send':s),s,function(){set(s,'');},'status:'+s);
  });
  Object.keys(codes).sort(function(a,b){return codes[b]-codes[a]||(a<b?-1:1);}).forEach(function(code){
    chip(codes[code]+' '+code,'failed',function(){set('failed',code);},'code:'+code);
    var o=document.createElement('option');o.value=code;o.textContent=code+' ('+codes[code]+')';codeSel.appendChild(o);
  });
  function set(status,code){state.status=status;state.code=code;statusSel.value=status;codeSel.value=code;apply();}
  function apply(){
    var n=0,needle=state.q.trim().toLowerCase();
    cards.forEach(function(c){
      var show=(!state.status||c.status===state.status)&&(!state.code||c.code===state.code)&&(!needle||c.text.indexOf(needle)>=0);
      if(show)n++;
      if(c.el.hidden===show)c.el.hidden=!show;
    });
    shown.textContent='showing '+n+' of '+cards.length;
    Array.prototype.forEach.call(summary.children,function(b){
      var k=b.getAttribute('data-key');
      b.classList.toggle('on',k===(state.code?'code:'+state.code:state.status?'status:'+state.status:'all'));
    });
  }
  var rank={failed:0,ok:1,skipped:2};
  function sort(){
    var by=state.sort;
    var sorted=cards.slice().sort(function(a,b){
      if(by==='failures'&&rank[a.status]!==rank[b.status])return rank[a.status]-rank[b.status];
      if(by==='user'&&a.user!==b.user)return a.user<b.user?-1:1;
      return a.row-b.row;
    });
    var f=document.createDocumentFragment();sorted.forEach(function(c){f.appendChild(c.el);});main.appendChild(f);
  }
  statusSel.addEventListener('change',function(){state.status=statusSel.value;apply();});
  codeSel.addEventListener('change',function(){state.code=codeSel.value;apply();});
  q.addEventListener('input',function(){state.q=q.value;apply();});
  sortSel.addEventListener('change',function(){state.sort=sortSel.value;sort();});
  sort();apply();
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
<label>search <input id="q" type="search" placeholder="user, name …"></label>
<label>sort <select id="sort"><option value="failures">failures first</option><option value="row">by row</option><option value="user">by user</option></select></label>
<span id="shown"></span>
</div>
</header>
<main id="cards">
`;
}

function picture(kind: string, who: string, picture: CardData['source']): string {
  const body = 'src' in picture
    ? `<img loading="lazy" decoding="async" src="${e(picture.src)}" alt="${e(`${kind} of ${who}`)}" width="64" height="64">`
    : `<div class="none">${e(picture.none)}</div>`;
  return `<figure>${body}<figcaption>${kind}</figcaption></figure>`;
}

export function card(data: CardData): string {
  const who = data.user || `row ${data.row}`;
  const columns = data.columns.length === 0
    ? ''
    : `<dl>${data.columns.map(([name, value]) => `<dt>${e(name)}</dt><dd title="${e(value)}">${e(value)}</dd>`).join('')}</dl>`;
  return `<article class="card" id="row-${data.row}" data-row="${data.row}" data-status="${data.status}"${data.code ? ` data-code="${e(data.code)}"` : ''} data-user="${e(data.user)}">` +
    `<div class="pics">${picture('source', who, data.source)}${picture('avatar', who, data.avatar)}</div>` +
    `<div class="body"><h2 title="${e(data.user)}">${e(who)}</h2>` +
    `<p class="where">row ${data.row}${data.line !== undefined ? ` · line ${data.line}` : ''} · ${e(data.target)}</p>${columns}` +
    `<p class="st ${data.status}">${e(data.label)}${data.code ? ` · <code>${e(data.code)}</code>` : ''}</p>` +
    (data.message ? `<p class="msg">${e(data.message)}</p>` : '') +
    (data.note ? `<p class="note">${e(data.note)}</p>` : '') +
    `</div></article>\n`;
}

export interface SheetEnd {
  readonly dryRun: boolean;
  /** Said at the bottom: interrupted, aborted, rows written … */
  readonly notes: readonly string[];
}

export function tail(end: SheetEnd): string {
  return `</main>
<footer>${end.notes.map((note) => `<p>${e(note)}</p>`).join('')}</footer>
<script type="application/json" id="run">${scriptJson({ dryRun: end.dryRun })}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
