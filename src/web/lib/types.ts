/** Shapes of the API's answers as the web app uses them (tolerant of small variations). */

export interface RoleRef {
  id: string;
  name: string;
}

export interface User {
  id: string;
  email: string;
  emailVerified: boolean;
  firstName: string;
  lastName: string;
  pictureUrl: string | null;
  phone: string | null;
  language: string;
  twoFactorEnabled: boolean;
  createdAt: string;
  notificationPreferences?: Record<string, { email?: boolean; inApp?: boolean }>;
  memberships?: { orgId?: string; organizationId?: string; orgName?: string; isOwner?: boolean }[];
}

export interface Org {
  id: string;
  name: string;
  logoUrl?: string | null;
  defaultLanguage?: string | null;
  language?: string | null;
  timezone?: string | null;
  requireTwoFactor?: boolean;
  isOwner?: boolean;
  memberCount?: number;
}

export interface OrgMe {
  memberId?: string;
  id?: string;
  isOwner: boolean;
  roles?: RoleRef[];
  roleIds?: string[];
  /** Roles the caller may grant: every permission of each is one they hold (the server's rule). */
  grantableRoles?: (RoleRef & { isSystem?: boolean })[];
  permissions: string[];
  organization?: Org;
  twoFactorRequired?: boolean;
  blockedByTwoFactorPolicy?: boolean;
  twoFactorBlocked?: boolean;
}

export interface Member {
  /** Membership id (the API names it memberId). */
  memberId: string;
  userId?: string;
  firstName: string;
  lastName: string;
  name?: string;
  email: string;
  pictureUrl?: string | null;
  roles?: RoleRef[];
  roleIds?: string[];
  isOwner: boolean;
  twoFactorEnabled?: boolean;
  joinedAt?: string;
  createdAt?: string;
  lastActiveAt?: string | null;
}

export interface Invitation {
  id: string;
  email: string;
  firstName?: string;
  lastName?: string;
  roles?: RoleRef[];
  roleIds?: string[];
  state?: string;
  status?: string;
  expiresAt: string;
  createdAt?: string;
  invitedBy?: { name?: string } | null;
  invitedByName?: string;
}

export interface Role {
  id: string;
  name: string;
  description?: string | null;
  isSystem?: boolean;
  system?: boolean;
  permissions: string[];
  memberCount?: number;
}

export interface InvitationPreview {
  state?: string;
  status?: string;
  email: string;
  firstName?: string;
  lastName?: string;
  organization?: { id?: string; name: string; logoUrl?: string | null };
  orgName?: string;
  inviter?: { name?: string; firstName?: string; lastName?: string } | null;
  inviterName?: string;
  invitedBy?: { name?: string } | null;
  roles?: RoleRef[];
  expiresAt?: string;
  accountExists?: boolean;
  hasAccount?: boolean;
}

export interface Session {
  id: string;
  userAgent?: string | null;
  device?: string | null;
  ip?: string | null;
  createdAt?: string;
  lastUsedAt?: string | null;
  current?: boolean;
}

export interface LoginAttempt {
  id: string;
  at?: string;
  createdAt?: string;
  ip?: string | null;
  userAgent?: string | null;
  success: boolean;
  failureReason?: string | null;
  twoFactorUsed?: boolean;
  member?: { memberId: string; name: string; email: string };
}

export function roleIdsOf(x: { roles?: RoleRef[]; roleIds?: string[] }): string[] {
  return x.roleIds ?? x.roles?.map((r) => r.id) ?? [];
}

export function fullName(x: { firstName?: string; lastName?: string; name?: string }): string {
  return x.name ?? [x.firstName, x.lastName].filter(Boolean).join(" ");
}

export function isSystemRole(r: Role): boolean {
  return Boolean(r.isSystem ?? r.system);
}
