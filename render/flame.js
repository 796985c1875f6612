/* flame.js - draws the flame graph whose table sits in #cs-data (see flame_svg.c).
 *
 * Only frames at least minwidth wide at the current zoom are drawn. The narrower
 * children of a frame become one hatched frame that says how many frames and how much
 * time it holds, so no time ever disappears. Names only ever reach the page through
 * textContent: a symbol name cannot become markup.
 *
 * window.csFlame offers the same actions to scripts and tests: zoom(node), search(re),
 * reset(), frames() (what is drawn), find(name).
 */
(function () {
	'use strict';
	var NS = 'http://www.w3.org/2000/svg';
	var doc = document;
	var svg = doc.documentElement;
	function $(id) {
		return doc.getElementById(id);
	}
	var t0 = (window.performance && performance.now()) || 0;
	var D = JSON.parse($('cs-data').textContent);

	/* ---- the table ---- */

	var ALPHA = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-';
	var DIG = new Int8Array(128).fill(-1);
	for (var i = 0; i < 64; i++) DIG[ALPHA.charCodeAt(i)] = i;

	function Reader(s) {
		this.s = s;
		this.pos = 0;
	}
	Reader.prototype.next = function () {
		var acc = 0, mul = 1;
		for (;;) {
			var d = DIG[this.s.charCodeAt(this.pos++)];
			if (!(d >= 0)) throw new Error('csampler flame: corrupt table');
			if (d < 32) return acc + d * mul;
			acc += (d - 32) * mul;
			mul *= 32;
		}
	};

	var S = D.strings;
	var fName = [], fKind = [], fMod = [], fFile = [], fLine = [];
	var r = new Reader(D.frames);
	while (r.pos < D.frames.length) {
		fName.push(r.next());
		fKind.push(r.next());
		fMod.push(r.next() - 1);
		fFile.push(r.next() - 1);
		fLine.push(r.next());
	}
	var NF = fName.length;
	var N = D.node_count;
	var nFrame = new Int32Array(N); /* frame description, -1 for merged frames */
	var nMerged = new Int32Array(N); /* how many frames a merged frame holds */
	var nTotal = new Float64Array(N);
	var nDepth = new Int32Array(N);
	var nParent = new Int32Array(N);
	var nEnd = new Int32Array(N); /* first node after the subtree */
	var at = [];
	r = new Reader(D.nodes);
	var depth = -1;
	for (i = 0; i < N; i++) {
		depth = depth + 1 - r.next();
		var f = r.next();
		if (f === 0) {
			nFrame[i] = -1;
			nMerged[i] = r.next();
		} else {
			nFrame[i] = f - 1;
		}
		nTotal[i] = r.next();
		nDepth[i] = depth;
		at[depth] = i;
		nParent[i] = depth > 0 ? at[depth - 1] : -1;
		nEnd[i] = i + 1;
	}
	for (i = N - 1; i > 0; i--)
		if (nEnd[i] > nEnd[nParent[i]]) nEnd[nParent[i]] = nEnd[i];

	var TOTAL = nTotal[0];
	var W = D.width, XP = D.xpad, FH = D.frame_height, FS = D.font_size;
	var INNER = W - 2 * XP;
	var CHARW = FS * 0.59;
	var MINW = D.minwidth;
	var COUNT = D.countname;

	function nameOf(n) {
		return nFrame[n] < 0 ? nMerged[n] + ' frames' : S[fName[nFrame[n]]];
	}
	function selfOf(n) {
		var s = nTotal[n];
		for (var c = n + 1; c < nEnd[n]; c = nEnd[c]) s -= nTotal[c];
		return s;
	}
	function yOf(d) {
		return D.inverted ? D.top + d * FH : D.height - D.bottom - (d + 1) * FH;
	}
	function fmt(v) {
		return String(Math.round(v)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
	}
	function pct(v, of) {
		return (of > 0 ? (100 * v) / of : 0).toFixed(2) + '%';
	}

	/* ---- colours ---- */

	function hashStr(s) {
		var h = 2166136261;
		for (var k = 0; k < s.length; k++) {
			h ^= s.charCodeAt(k);
			h = Math.imul(h, 16777619);
		}
		h ^= h >>> 15;
		h = Math.imul(h, 2246822507);
		h ^= h >>> 13;
		return h >>> 0;
	}
	var fHash = new Uint32Array(NF);
	for (i = 0; i < NF; i++) fHash[i] = hashStr(S[fName[i]]);
	var KIND_NAMES = ['root', 'user code', 'library', 'kernel', 'inlined', 'JIT', 'unknown'];

	function hsl(h, s, l) {
		return 'hsl(' + h.toFixed(1) + ',' + s + '%,' + l.toFixed(1) + '%)';
	}
	function rgb(r, g, b) {
		return 'rgb(' + Math.round(r) + ',' + Math.round(g) + ',' + Math.round(b) + ')';
	}
	/* Three numbers in [0, 1) from a hash: the same name (with --hash) or the same
	 * frame (without) always gets the same colour. */
	function paint(kind, h, mod) {
		var a = (h & 0xffff) / 65536, b = ((h >>> 16) & 0xff) / 256, c = (h >>> 24) / 256;
		switch (D.colors) {
		case 'hot':
			return rgb(205 + 50 * c, 230 * a, 55 * b);
		case 'mem':
			return rgb(0, 190 + 50 * b, 210 * a);
		case 'io':
			return rgb(80 + 60 * a, 80 + 60 * a, 190 + 55 * b);
		}
		switch (kind) {
		case 0: return hsl(0, 0, 80 + 6 * a);
		case 1: return hsl(2 + 24 * a, 78, 56 + 8 * b);
		case 2:
			var m = mod >= 0 ? hashStr(S[mod]) / 4294967296 : a;
			return hsl(38 + 34 * m, 80, 52 + 10 * b);
		case 3: return hsl(204 + 22 * a, 58, 62 + 8 * b);
		case 4: return hsl(172 + 14 * a, 58, 52 + 8 * b);
		case 5: return hsl(100 + 28 * a, 55, 50 + 10 * b);
		default: return hsl(0, 0, 66 + 8 * a);
		}
	}
	function colourOf(n) {
		var f = nFrame[n];
		var h = fHash[f];
		if (!D.hash) h = hashStr(String(h) + ':' + n);
		return paint(fKind[f], h, fMod[f]);
	}

	/* ---- drawing ---- */

	var zoomNode = 0;
	var match = null; /* per frame description: does its name match the search */
	var term = '';

	function fit(name, w) {
		var chars = Math.floor((w - 6) / CHARW);
		if (chars < 3) return '';
		return name.length <= chars ? name : name.slice(0, chars - 2) + '..';
	}

	function addFrame(g, n, x, w, merged, cls) {
		var d = merged ? merged.depth : nDepth[n];
		var y = yOf(d);
		var rect = doc.createElementNS(NS, 'rect');
		rect.setAttribute('x', x.toFixed(2));
		rect.setAttribute('y', y);
		rect.setAttribute('width', w.toFixed(2));
		rect.setAttribute('height', FH - 1);
		rect.setAttribute('rx', 2);
		var fill;
		if (merged) fill = 'url(#cs-merged)';
		else if (match && match[nFrame[n]]) fill = 'rgb(230,0,230)';
		else fill = colourOf(n);
		rect.setAttribute('fill', fill);
		if (cls) rect.setAttribute('class', cls);
		rect.csNode = n;
		rect.csMerged = merged || null;
		g.appendChild(rect);
		var label = fit(merged ? merged.count + ' frames, ' + pct(merged.sum, TOTAL) : nameOf(n), w);
		if (label) {
			var t = doc.createElementNS(NS, 'text');
			t.setAttribute('x', (x + 3).toFixed(2));
			t.setAttribute('y', y + FH / 2 + FS / 3);
			t.textContent = label;
			g.appendChild(t);
		}
	}

	var drawnCount = 0;
	function draw() {
		var g = doc.createElementNS(NS, 'g');
		g.setAttribute('id', 'cs-frames');
		var z = zoomNode;
		var scale = INNER / nTotal[z];
		for (var a = nParent[z]; a >= 0; a = nParent[a]) addFrame(g, a, XP, INNER, null, 'cs-anc');
		var todo = [z, XP];
		var count = 0;
		while (todo.length) {
			var x = todo.pop(), n = todo.pop();
			var w = nTotal[n] * scale;
			addFrame(g, n, x, w, null, null);
			count++;
			var cx = x, narrow = 0, members = 0, sum = 0, lone = -1;
			for (var c = n + 1; c < nEnd[n]; c = nEnd[c]) {
				var cw = nTotal[c] * scale;
				if (cw >= MINW && nFrame[c] >= 0) {
					todo.push(c, cx);
					cx += cw;
				} else if (cw >= MINW) {
					/* merged when the SVG was written, and wide enough here */
					addFrame(g, c, cx, cw, {
						depth: nDepth[c], count: nMerged[c], sum: nTotal[c], parent: n,
					});
					count++;
					cx += cw;
				} else {
					narrow++;
					members += nFrame[c] < 0 ? nMerged[c] : 1;
					sum += nTotal[c];
					lone = c;
				}
			}
			if (narrow === 1 && nFrame[lone] >= 0) {
				/* One frame alone keeps its name; what is below it is narrower
				 * still and stays inside it (its tooltip says so). */
				addFrame(g, lone, cx, Math.max(nTotal[lone] * scale, 1), null, null);
				count++;
			} else if (narrow) {
				addFrame(g, n, cx, Math.max(sum * scale, 1), {
					depth: nDepth[n] + 1, count: members, sum: sum, parent: n,
				});
				count++;
			}
		}
		var old = $('cs-frames');
		old.parentNode.replaceChild(g, old);
		drawnCount = count;
		$('cs-unzoom').setAttribute('class', zoomNode ? 'cs-button' : 'cs-button cs-hide');
		showMatched();
	}

	function zoom(n) {
		if (n < 0 || n >= N || nFrame[n] < 0) return;
		zoomNode = n;
		hideTip();
		draw();
	}

	/* ---- search ---- */

	function matchedIn(z) {
		for (var a = z; a >= 0; a = nParent[a]) if (nFrame[a] >= 0 && match[nFrame[a]]) return nTotal[z];
		var sum = 0;
		for (var n = z + 1; n < nEnd[z];) {
			if (nFrame[n] >= 0 && match[nFrame[n]]) {
				sum += nTotal[n];
				n = nEnd[n]; /* a match below a match counts once */
			} else {
				n++;
			}
		}
		return sum;
	}

	function showMatched() {
		var el = $('cs-matched');
		if (!match) {
			el.textContent = ' ';
			return;
		}
		var all = matchedIn(0);
		var s = 'Matched: ' + pct(all, TOTAL);
		if (zoomNode) s += ' (' + pct(matchedIn(zoomNode), nTotal[zoomNode]) + ' of the zoomed frame)';
		el.textContent = s;
	}

	function search(re) {
		if (!re) return resetSearch();
		var rx;
		try {
			rx = new RegExp(re);
		} catch (e) {
			$('cs-matched').textContent = 'Not a regular expression: ' + re;
			return false;
		}
		term = re;
		match = new Uint8Array(NF);
		for (var k = 0; k < NF; k++) match[k] = rx.test(S[fName[k]]) ? 1 : 0;
		$('cs-search').textContent = 'Reset Search';
		$('cs-search').setAttribute('class', 'cs-button cs-active');
		draw();
		return true;
	}

	function resetSearch() {
		match = null;
		$('cs-search').textContent = 'Search';
		$('cs-search').setAttribute('class', 'cs-button');
		draw();
		return true;
	}

	function askSearch() {
		var re = window.prompt('Search frames (regular expression):', term);
		if (re !== null) search(re);
	}

	/* ---- tooltips and details ---- */

	var tip = $('cs-tip');
	function describe(rect) {
		var n = rect.csNode, m = rect.csMerged;
		if (m) {
			return [
				m.count + ' frames merged, each narrower than ' + MINW + ' px',
				fmt(m.sum) + ' ' + COUNT + ', ' + pct(m.sum, TOTAL),
				'click to zoom into ' + nameOf(m.parent),
			];
		}
		var f = nFrame[n];
		var lines = [nameOf(n)];
		var s = fmt(nTotal[n]) + ' ' + COUNT + ', ' + pct(nTotal[n], TOTAL);
		if (zoomNode && n !== zoomNode && nTotal[n] <= nTotal[zoomNode])
			s += ' (' + pct(nTotal[n], nTotal[zoomNode]) + ' of the zoomed frame)';
		lines.push(s);
		lines.push('self: ' + fmt(selfOf(n)) + ' ' + COUNT + ', ' + pct(selfOf(n), TOTAL));
		if (nEnd[n] > n + 1 && nTotal[n] * (INNER / nTotal[zoomNode]) < MINW)
			lines.push('(the frames it calls are narrower still: zoom in to see them)');
		if (fKind[f] > 0) lines.push('kind: ' + KIND_NAMES[fKind[f]]);
		if (fMod[f] >= 0) lines.push('module: ' + S[fMod[f]]);
		if (fFile[f] >= 0) lines.push('source: ' + S[fFile[f]] + (fLine[f] ? ':' + fLine[f] : ''));
		return lines;
	}

	function showTip(rect, evt) {
		var lines = describe(rect);
		var text = tip.lastChild;
		while (text.firstChild) text.removeChild(text.firstChild);
		var widest = 0;
		for (var k = 0; k < lines.length; k++) {
			var line = lines[k].length > 160 ? lines[k].slice(0, 158) + '..' : lines[k];
			var ts = doc.createElementNS(NS, 'tspan');
			ts.setAttribute('x', 6);
			ts.setAttribute('y', (k + 1) * FS * 1.3);
			ts.textContent = line;
			if (k === 0) ts.setAttribute('font-weight', 'bold');
			text.appendChild(ts);
			widest = Math.max(widest, line.length);
		}
		var tw = Math.min(widest * CHARW * 1.02 + 14, W - 4);
		var th = lines.length * FS * 1.3 + FS * 0.6;
		var bg = tip.firstChild;
		bg.setAttribute('width', tw.toFixed(1));
		bg.setAttribute('height', th.toFixed(1));
		tip.setAttribute('class', '');
		moveTip(evt, tw, th);
		$('cs-details').textContent = lines[0] + ' (' + lines[1] + ')';
	}

	function moveTip(evt, tw, th) {
		var p = svg.createSVGPoint();
		p.x = evt.clientX;
		p.y = evt.clientY;
		var ctm = svg.getScreenCTM();
		if (ctm) p = p.matrixTransform(ctm.inverse());
		tw = tw || +tip.firstChild.getAttribute('width');
		th = th || +tip.firstChild.getAttribute('height');
		var x = p.x + 14, y = p.y + 16;
		if (x + tw > W) x = Math.max(0, p.x - tw - 8);
		if (y + th > D.height) y = Math.max(0, p.y - th - 8);
		tip.setAttribute('transform', 'translate(' + x.toFixed(1) + ',' + y.toFixed(1) + ')');
	}

	function hideTip() {
		tip.setAttribute('class', 'cs-hide');
		$('cs-details').textContent = ' ';
	}

	/* ---- events ---- */

	svg.addEventListener('click', function (e) {
		var el = e.target;
		if (el.id === 'cs-unzoom') return zoom(0);
		if (el.id === 'cs-search') return match ? resetSearch() : askSearch();
		if (!el.csMerged && el.csNode === undefined) return;
		if (el.csMerged) {
			if (el.csMerged.parent !== zoomNode) zoom(el.csMerged.parent);
			return;
		}
		zoom(el.csNode);
	});
	svg.addEventListener('mouseover', function (e) {
		if (e.target.csNode !== undefined) showTip(e.target, e);
	});
	svg.addEventListener('mousemove', function (e) {
		if (e.target.csNode !== undefined) moveTip(e);
	});
	svg.addEventListener('mouseout', function (e) {
		if (e.target.csNode !== undefined) hideTip();
	});
	window.addEventListener('keydown', function (e) {
		if (((e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F')) || e.key === 'F3') {
			e.preventDefault();
			askSearch();
		} else if (e.key === 'Escape') {
			if (match) resetSearch();
			else if (zoomNode) zoom(0);
		}
	});

	/* ---- legend ---- */

	function legend() {
		if (D.colors !== 'module') return;
		var seen = [];
		for (var k = 0; k < NF; k++) seen[fKind[k]] = 1;
		var g = $('cs-legend'), x = XP;
		for (var kind = 1; kind < KIND_NAMES.length; kind++) {
			if (!seen[kind]) continue;
			var sw = doc.createElementNS(NS, 'rect');
			sw.setAttribute('x', x);
			sw.setAttribute('y', D.legend_y - FS * 0.75);
			sw.setAttribute('width', FS * 0.8);
			sw.setAttribute('height', FS * 0.8);
			sw.setAttribute('fill', paint(kind, 0x80808080, -1));
			g.appendChild(sw);
			var t = doc.createElementNS(NS, 'text');
			t.setAttribute('x', x + FS);
			t.setAttribute('y', D.legend_y);
			t.textContent = KIND_NAMES[kind];
			g.appendChild(t);
			x += FS * 1.6 + KIND_NAMES[kind].length * CHARW;
		}
		if (x === XP) return;
		var hint = doc.createElementNS(NS, 'text');
		hint.setAttribute('x', x + FS);
		hint.setAttribute('y', D.legend_y);
		hint.textContent = '· hatched: frames too narrow to draw, merged';
		g.appendChild(hint);
	}

	var nojs = $('cs-nojs');
	nojs.parentNode.removeChild(nojs);
	legend();
	draw();

	window.csFlame = {
		zoom: zoom,
		search: search,
		reset: function () {
			resetSearch();
			zoom(0);
		},
		/* what is drawn: [{name, node, x, width, depth, merged, matched, ancestor}] */
		frames: function () {
			var out = [];
			var rects = $('cs-frames').getElementsByTagName('rect');
			for (var k = 0; k < rects.length; k++) {
				var rc = rects[k], m = rc.csMerged;
				out.push({
					name: m ? m.count + ' frames' : nameOf(rc.csNode),
					node: rc.csNode,
					x: +rc.getAttribute('x'),
					width: +rc.getAttribute('width'),
					depth: m ? m.depth : nDepth[rc.csNode],
					merged: m ? m.count : 0,
					samples: m ? m.sum : nTotal[rc.csNode],
					matched: !m && !!match && !!match[nFrame[rc.csNode]],
					ancestor: rc.getAttribute('class') === 'cs-anc',
				});
			}
			return out;
		},
		/* the first node named name, in preorder, or -1 */
		find: function (name) {
			for (var k = 0; k < N; k++) if (nFrame[k] >= 0 && S[fName[nFrame[k]]] === name) return k;
			return -1;
		},
		get zoomed() {
			return zoomNode;
		},
		get drawn() {
			return drawnCount;
		},
		firstPaintMs: ((window.performance && performance.now()) || 0) - t0,
	};
})();
