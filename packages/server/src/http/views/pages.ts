// The server-rendered pages: pure functions from view data to escaped HTML.

export { type AccountPageProps, accountPage, type ViewSession } from './account-page.ts';
export {
  type LoginPageProps,
  loginPage,
  type RegisterPageProps,
  registerPage,
  registrationClosedPage,
  setPasswordPage,
} from './auth-pages.ts';
export { type LayoutProps, layout, type Notice, type ViewUser } from './layout.ts';
export { messagePage } from './message-page.ts';
export { portalPage, type ViewService } from './portal-page.ts';
