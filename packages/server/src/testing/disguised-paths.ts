// Paths that reached the wrong forward-auth rule (issue 12): with /public/* bypassed and
// /admin/* restricted, servers behind the proxy read each of these as an /admin path, or may.
// Shared by the forward-auth tests at every level (inject, NGINX, Caddy).

export const DISGUISED_ADMIN_PATHS: readonly string[] = [
  '/public/..;/admin/x',
  '/public/..%2Fadmin/x',
  '/public/%2e%2e%2fadmin/x',
  '/public/..%5cadmin/x',
  '/Admin/x',
  '/admin;x/y',
  '/admin%2Fx',
  // Found by review: an empty segment before `..` (WHATWG drops the empty segment, NGINX and
  // Tomcat merge the slashes first) and a backslash (NGINX and Express keep it as a character).
  '/public//../admin/x',
  '/public/x//..//../admin/x',
  '/admin/x\\..\\..\\public/y',
];
