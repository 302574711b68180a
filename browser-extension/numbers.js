// Finding phone numbers in text, shared by the content script (links on pages) and the
// background script (the selected text of "Call ..."). Plain functions on globalThis:
// content scripts and MV3 background scripts load no modules in both browsers alike.
"use strict";

// A run of digits with the separators people write between them: an optional + (or
// 00), then 7 to 15 digits (E.164's longest) with spaces, dots, dashes, slashes and
// parentheses between. Dates (2026-12-08) and long IDs are kept out by the digit count
// and the checks in ucdeskTelNumber.
const UCDESK_NUMBER = /(?:\+|\b00)?\(?\d[\d\s().\/-]{5,22}\d\b/g;

// The tel: number of a written number, or null when it is not one: separators go, a
// leading 00 becomes +, and 7-15 digits must remain.
function ucdeskTelNumber(text) {
  const trimmed = String(text).trim();
  let number = trimmed.replace(/[\s().\/-]/g, "");
  if (number.startsWith("00")) number = "+" + number.slice(2);
  if (!/^\+?\d+$/.test(number)) return null;
  const digits = number.replace("+", "").length;
  if (digits < 7 || digits > 15) return null;
  // A date or a time written with dashes or dots is not a number to call.
  if (/^\d{4}[-.]\d{2}[-.]\d{2}$/.test(trimmed) || /^\d{1,2}[.]\d{1,2}[.]\d{2,4}$/.test(trimmed)) return null;
  return number;
}

globalThis.UCDESK_NUMBER = UCDESK_NUMBER;
globalThis.ucdeskTelNumber = ucdeskTelNumber;
