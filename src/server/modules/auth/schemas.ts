import { z } from "zod";

export const userSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    emailVerified: z.boolean(),
    firstName: z.string(),
    lastName: z.string(),
    pictureUrl: z.string().nullable(),
    phone: z.string().nullable(),
    language: z.string(),
    twoFactorEnabled: z.boolean(),
    createdAt: z.date(),
  })
  .meta({ id: "User" });

export type UserDto = z.output<typeof userSchema>;

export function toUserDto(u: {
  id: string;
  email: string;
  emailVerifiedAt: Date | null;
  firstName: string;
  lastName: string;
  pictureUrl: string | null;
  phone: string | null;
  language: string;
  totpEnabledAt: Date | null;
  createdAt: Date;
}): UserDto {
  return {
    id: u.id,
    email: u.email,
    emailVerified: u.emailVerifiedAt !== null,
    firstName: u.firstName,
    lastName: u.lastName,
    pictureUrl: u.pictureUrl,
    phone: u.phone,
    language: u.language,
    twoFactorEnabled: u.totpEnabledAt !== null,
    createdAt: u.createdAt,
  };
}
