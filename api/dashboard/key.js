// The API key: entered once, kept in sessionStorage (this tab, until it closes), sent only
// as "Authorization: Bearer", never placed in a URL.

const KEY_STORAGE = "crmkpi.apiKey";

/**
 * The key from the page's fragment (#key=..., which browsers never send to a server;
 * `crmkpi demo` prints such a link) or from sessionStorage. A key in the query string has
 * already reached the server's logs: it is dropped from the address bar and not used, so
 * such links stop being shared. Returns {key, refusedQuery}.
 */
export function takeKey() {
  const url = new URL(window.location.href);
  const fragment = new URLSearchParams(url.hash.slice(1));
  const fromFragment = fragment.get("key");
  const inQuery = url.searchParams.has("key");
  if (fromFragment || inQuery) {
    fragment.delete("key");
    url.searchParams.delete("key");
    url.hash = fragment.toString();
    window.history.replaceState(null, "", url.href);
  }
  localStorage.removeItem(KEY_STORAGE); // older pages kept it there, for every tab and forever
  if (fromFragment) sessionStorage.setItem(KEY_STORAGE, fromFragment);
  return { key: sessionStorage.getItem(KEY_STORAGE), refusedQuery: inQuery && !fromFragment };
}

export function rememberKey(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
}
