// Turns the phone numbers in a page's text into tel: links (ucdesk answers them as the
// desktop's handler), now and as the page changes. Text inside links, form fields,
// editable areas, scripts and styles is left alone.
"use strict";

const SKIP = new Set(["A", "SCRIPT", "STYLE", "NOSCRIPT", "TEXTAREA", "INPUT", "SELECT", "OPTION", "CODE", "PRE"]);

function skipped(node) {
  for (let n = node.parentElement; n; n = n.parentElement) {
    if (SKIP.has(n.tagName) || n.isContentEditable || n.classList.contains("ucdesk-tel")) return true;
  }
  return false;
}

function linkify(textNode) {
  const text = textNode.nodeValue;
  UCDESK_NUMBER.lastIndex = 0;
  let match;
  let last = 0;
  let fragment = null;
  while ((match = UCDESK_NUMBER.exec(text)) !== null) {
    const number = ucdeskTelNumber(match[0]);
    if (!number) continue;
    fragment = fragment || document.createDocumentFragment();
    fragment.appendChild(document.createTextNode(text.slice(last, match.index)));
    const a = document.createElement("a");
    a.href = "tel:" + number;
    a.className = "ucdesk-tel";
    a.title = "Call " + number + " with ucdesk";
    a.textContent = match[0];
    fragment.appendChild(a);
    last = match.index + match[0].length;
  }
  if (!fragment) return;
  fragment.appendChild(document.createTextNode(text.slice(last)));
  textNode.parentNode.replaceChild(fragment, textNode);
}

function scan(root) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (/\d{3}/.test(n.nodeValue) && !skipped(n) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT),
  });
  const found = [];
  while (walker.nextNode()) found.push(walker.currentNode);
  found.forEach(linkify);
}

scan(document.body);

// Pages that draw later (single-page apps): new nodes are scanned once per animation
// frame at most, never the whole page again.
let pending = new Set();
let scheduled = false;
const observer = new MutationObserver((mutations) => {
  for (const m of mutations) m.addedNodes.forEach((n) => pending.add(n));
  if (scheduled || pending.size === 0) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    const nodes = pending;
    pending = new Set();
    nodes.forEach((n) => {
      if (!n.isConnected) return;
      if (n.nodeType === Node.TEXT_NODE) {
        if (!skipped(n)) linkify(n);
      } else if (n.nodeType === Node.ELEMENT_NODE && !n.classList.contains("ucdesk-tel")) {
        scan(n);
      }
    });
  });
});
observer.observe(document.body, { childList: true, subtree: true });
