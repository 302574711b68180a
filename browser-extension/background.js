// "Call <selection>" in the context menu of selected text: the number goes to ucdesk as
// a tel: link in the same tab (the browser hands it to the desktop's handler).
"use strict";

const api = globalThis.browser ?? globalThis.chrome;
// Firefox loads numbers.js as a background script beside this one (manifest); a
// Chromium service worker imports it.
if (typeof ucdeskTelNumber === "undefined" && typeof importScripts === "function") importScripts("numbers.js");

api.runtime.onInstalled.addListener(() => {
  api.contextMenus.create({ id: "ucdesk-call", title: "Call %s with ucdesk", contexts: ["selection"] });
});

// The tel: URL for a selection, or null when it holds no number.
function callUrl(selection) {
  const number = ucdeskTelNumber(selection);
  return number ? "tel:" + number : null;
}

function onMenuClick(info, tab) {
  if (info.menuItemId !== "ucdesk-call" || !tab) return;
  const url = callUrl(info.selectionText || "");
  if (url) api.tabs.update(tab.id, { url });
}

api.contextMenus.onClicked.addListener(onMenuClick);
