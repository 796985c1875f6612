/* flame.js - draws the flame graph whose table sits in #cs-data (see flame_svg.c).
 *
 * The file already holds a static drawing of the frames (flame_draw.c, made with the
 * same layout, labels and colours as here) for viewers without script. This script
 * replaces it with its own drawing at the width of the window, and redraws on zoom,
 * search and resize: there is always exactly one drawing in #cs-frames.
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
	var nFrame = new Int32Array(N); /* frame description, -1 for merged and cut frames */
	var nMerged = new Int32Array(N); /* how many frames a merged frame holds; 0: cut */
	var nTotal = new Float64Array(N);
	var nOff = D.offcpu ? new Float64Array(N) : null; /* of nTotal, off-CPU time */
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
		if (nOff) nOff[i] = r.next();
		nDepth[i] = depth;
		at[depth] = i;
		nParent[i] = depth > 0 ? at[depth - 1] : -1;
		nEnd[i] = i + 1;
	}
	for (i = N - 1; i > 0; i--)
		if (nEnd[i] > nEnd[nParent[i]]) nEnd[nParent[i]] = nEnd[i];

	/* Colours and tooltip notes chosen per node by the writer (csampler diff): fill + 1
	 * (0: by kind), then note + 1 (0: none), an index into strings then notes. */
	var nFill = null, nNote = null, NOTES = S;
	if (D.fills) {
		nFill = new Int32Array(N);
		nNote = new Int32Array(N);
		r = new Reader(D.fills);
		for (i = 0; i < N; i++) {
			nFill[i] = r.next();
			nNote[i] = r.next();
		}
		NOTES = S.concat(D.notes || []);
	}

	var TOTAL = nTotal[0];
	var W = D.width, XP = D.xpad, FH = D.frame_height, FS = D.font_size;
	var INNER = W - 2 * XP;
	var CUT = D.cut_depth || 0; /* depth of the frames that stand for cut call chains */
	var CHARW = FS * 0.59;
	var MINW = D.minwidth;
	var COUNT = D.countname;

	function nameOf(n) {
		if (nFrame[n] >= 0) return S[fName[nFrame[n]]];
		return nMerged[n] ? nMerged[n] + ' frames' : 'cut';
	}
	/* how many frames a node stands for when it joins a merged frame */
	function membersOf(n) {
		return nFrame[n] >= 0 || !nMerged[n] ? 1 : nMerged[n];
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

	/* All in 32-bit integers, as flame_draw.c computes them for the static drawing:
	 * the same frame gets the same colour with or without this script. */
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
	function nodeHash(h, n) {
		h ^= Math.imul(n + 1, 0x9e3779b1);
		h ^= h >>> 16;
		h = Math.imul(h, 0x7feb352d);
		h ^= h >>> 15;
		h = Math.imul(h, 0x846ca68b);
		h ^= h >>> 16;
		return h >>> 0;
	}
	var fHash = new Uint32Array(NF);
	for (i = 0; i < NF; i++) fHash[i] = hashStr(S[fName[i]]);
	var modHash = {};
	var KIND_NAMES = ['root', 'user code', 'library', 'kernel', 'inlined', 'JIT', 'unknown', 'off-CPU'];
	/* per kind: the two ends of its hues (RGB) and how far towards white it may go */
	var KINDS = [
		[204, 204, 204, 220, 220, 220, 0],
		[230, 61, 55, 230, 131, 55, 47],
		[231, 159, 35, 191, 231, 35, 54],
		[102, 169, 214, 102, 128, 214, 54],
		[62, 204, 185, 62, 189, 204, 43],
		[104, 198, 57, 57, 198, 76, 51],
		[168, 168, 168, 189, 189, 189, 0],
		[128, 118, 190, 150, 150, 176, 40],
	];

	function hex(r, g, b) {
		return '#' + (0x1000000 | (r << 16) | (g << 8) | b).toString(16).slice(1);
	}
	/* mod: the hash of the frame's module, or -1 */
	function paint(kind, h, mod) {
		var a = h & 0xffff, b = (h >>> 16) & 0xff, c = h >>> 24;
		switch (D.colors) {
		case 'hot':
			return hex(205 + ((50 * c) >> 8), (230 * a) >> 16, (55 * b) >> 8);
		case 'mem':
			return hex(0, 190 + ((50 * b) >> 8), (210 * a) >> 16);
		case 'io':
			var v = 80 + ((60 * a) >> 16);
			return hex(v, v, 190 + ((55 * b) >> 8));
		}
		var k = KINDS[kind] || KINDS[6];
		var t = kind === 2 && mod >= 0 ? mod >>> 16 : a;
		var ch = [0, 0, 0];
		for (var j = 0; j < 3; j++) {
			var x = (k[j] * (65536 - t) + k[j + 3] * t) >>> 16;
			ch[j] = x + (((255 - x) * b * k[6]) >>> 16);
		}
		return hex(ch[0], ch[1], ch[2]);
	}
	function colourOf(n) {
		if (nFill && nFill[n] > 0) {
			var v = nFill[n] - 1;
			return v === 0x1000000 ? 'url(#cs-gone)' : hex(v >>> 16, (v >>> 8) & 255, v & 255);
		}
		var f = nFrame[n];
		var h = D.hash ? fHash[f] : nodeHash(fHash[f], n);
		var m = fMod[f];
		if (m >= 0 && modHash[m] === undefined) modHash[m] = hashStr(S[m]);
		return paint(fKind[f], h, m >= 0 ? modHash[m] : -1);
	}

	/* ---- drawing ---- */

	var zoomNode = 0;
	var match = null; /* per frame description: does its name match the search */
	var term = '';

	function fit(name, w) {
		var chars = Math.floor((w - 6) / CHARW);
		if (!(chars >= 3)) return '';
		if (name.length <= chars) return name;
		var k = chars - 2, c = name.charCodeAt(k - 1);
		if (c >= 0xd800 && c < 0xdc00) k--; /* never half a surrogate pair */
		return name.slice(0, k) + '..';
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
		if (merged) fill = merged.cut ? 'url(#cs-cut)' : 'url(#cs-merged)';
		else if (match && match[nFrame[n]]) fill = 'rgb(230,0,230)';
		else fill = colourOf(n);
		rect.setAttribute('fill', fill);
		if (cls) rect.setAttribute('class', cls);
		rect.csNode = n;
		rect.csMerged = merged || null;
		g.appendChild(rect);
		var label = nameOf(n);
		if (merged && merged.cut) label = 'cut: deeper frames, ' + pct(merged.sum, TOTAL);
		else if (merged) label = merged.count + ' frames, ' + pct(merged.sum, TOTAL);
		label = fit(label, w);
		if (label) {
			var t = doc.createElementNS(NS, 'text');
			t.setAttribute('x', (x + 3).toFixed(2));
			t.setAttribute('y', y + FH / 2 + FS / 3);
			t.textContent = label;
			g.appendChild(t);
		}
	}

	/* a frame merged or cut when the SVG was written */
	function storedMerge(c, parent) {
		return {
			depth: nDepth[c], count: membersOf(c), sum: nTotal[c], parent: parent,
			cut: nMerged[c] === 0, stored: true,
		};
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
					/* merged or cut when the SVG was written, and wide enough here */
					addFrame(g, c, cx, cw, storedMerge(c, n));
					count++;
					cx += cw;
				} else {
					narrow++;
					members += membersOf(c);
					sum += nTotal[c];
					lone = c;
				}
			}
			if (narrow === 1 && nFrame[lone] >= 0) {
				/* One frame alone keeps its name; what is below it is narrower
				 * still and stays inside it (its tooltip says so). */
				addFrame(g, lone, cx, Math.max(nTotal[lone] * scale, 1), null, null);
				count++;
			} else if (narrow === 1) {
				addFrame(g, lone, cx, Math.max(nTotal[lone] * scale, 1), storedMerge(lone, n));
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
		if (m && m.cut) {
			return [
				'call chains cut at depth ' + (CUT - 1) + ' to fit --max-frames ' + D.max_frames,
				fmt(m.sum) + ' ' + COUNT + ', ' + pct(m.sum, TOTAL),
				'(the frames below were not kept in the file)',
			];
		}
		if (m) {
			return [
				m.count + ' frames merged, ' + (m.stored ? 'to fit --max-frames' :
					'each narrower than ' + MINW + ' px'),
				fmt(m.sum) + ' ' + COUNT + ', ' + pct(m.sum, TOTAL),
				'click to zoom into ' + nameOf(m.parent),
			];
		}
		var f = nFrame[n];
		var lines = [nameOf(n)];
		if (nNote && nNote[n] > 0) lines.push(NOTES[nNote[n] - 1]);
		var s = fmt(nTotal[n]) + ' ' + COUNT + ', ' + pct(nTotal[n], TOTAL);
		if (zoomNode && n !== zoomNode && nTotal[n] <= nTotal[zoomNode])
			s += ' (' + pct(nTotal[n], nTotal[zoomNode]) + ' of the zoomed frame)';
		lines.push(s);
		lines.push('self: ' + fmt(selfOf(n)) + ' ' + COUNT + ', ' + pct(selfOf(n), TOTAL));
		if (nOff)
			lines.push('CPU: ' + fmt(nTotal[n] - nOff[n]) + ' ' + COUNT + ', off-CPU: ' +
				fmt(nOff[n]) + ' ' + COUNT);
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

	/* ---- the width of the window ---- */

	/* The file's width is that of the static drawing; here the graph takes the width
	 * of the window (or of the frame that embeds it), and follows it. */
	function fitWidth() {
		svg.setAttribute('width', '100%');
		var vw = Math.floor(svg.getBoundingClientRect().width);
		if (!(vw > 0)) vw = D.width;
		vw = Math.max(vw, 2 * XP + 100);
		var changed = vw !== W;
		W = vw;
		INNER = W - 2 * XP;
		svg.setAttribute('viewBox', '0 0 ' + W + ' ' + D.height);
		$('cs-background').setAttribute('width', W);
		var place = { 'cs-title': W / 2, 'cs-subtitle': W / 2, 'cs-search': W - XP, 'cs-matched': W - XP };
		for (var id in place) if ($(id)) $(id).setAttribute('x', place[id]);
		return changed;
	}
	var pending = false;
	window.addEventListener('resize', function () {
		if (pending) return;
		pending = true;
		window.requestAnimationFrame(function () {
			pending = false;
			if (fitWidth()) draw();
		});
	});

	/* The static drawing goes before the window is measured: laying out its labels
	 * only to throw them away would cost more than drawing. */
	var empty = doc.createElementNS(NS, 'g');
	empty.setAttribute('id', 'cs-frames');
	$('cs-frames').parentNode.replaceChild(empty, $('cs-frames'));
	/* the note that the static drawing stops early is not true of this one */
	var staticNote = $('cs-static-note');
	if (staticNote) staticNote.parentNode.removeChild(staticNote);
	$('cs-search').setAttribute('class', 'cs-button');
	fitWidth();
	draw();

	window.csFlame = {
		zoom: zoom,
		search: search,
		reset: function () {
			resetSearch();
			zoom(0);
		},
		/* what is drawn: [{name, node, x, width, depth, merged, cut, samples, matched,
		 * ancestor}] */
		frames: function () {
			var out = [];
			var rects = $('cs-frames').getElementsByTagName('rect');
			for (var k = 0; k < rects.length; k++) {
				var rc = rects[k], m = rc.csMerged;
				out.push({
					name: m ? (m.cut ? 'cut' : m.count + ' frames') : nameOf(rc.csNode),
					node: rc.csNode,
					x: +rc.getAttribute('x'),
					width: +rc.getAttribute('width'),
					depth: m ? m.depth : nDepth[rc.csNode],
					merged: m ? m.count : 0,
					cut: !!(m && m.cut),
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
		get width() {
			return W;
		},
		firstPaintMs: ((window.performance && performance.now()) || 0) - t0,
	};
})();
