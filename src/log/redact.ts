/**
 * URLs as logs and error messages may show them. Userinfo, query strings and fragments can carry
 * credentials (`https://user:token@collector/...`, `?api_key=...`), and logs are read by more
 * people than the pod's secrets are: those parts are replaced, the rest stays to say which URL.
 */
const USERINFO = /\/\/[^/?#\s"]*@/g;
const QUERY_OR_FRAGMENT = /([?#])[^\s"]*/g;

/** Works on any text holding a URL, parseable or not (a bad flag value is still redacted). */
export function redactUrl(text: string): string {
  return text.replace(USERINFO, '//[redacted]@').replace(QUERY_OR_FRAGMENT, '$1[redacted]');
}
