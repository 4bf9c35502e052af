// The access expression language shared by the server (client access rules, forward auth) and
// the SDK. To be written by the access-groups work.

export {};
