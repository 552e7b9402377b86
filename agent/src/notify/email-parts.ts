/** The building blocks of notification emails: one-line headers, escaped HTML, changelog sections. */
import { changelogSectionTitles, type UserChangelog } from "../model/rollout.ts";
import { shortDigest } from "../text/digest.ts";
import { escapeHtml } from "../text/html.ts";

export type Audience = "tenant" | "admins";

export interface RenderedEmail {
  /** Who receives it: the tenant's contacts, or fleet.yaml's `notifications.email.admins`. */
  audience: Audience;
  subject: string;
  text: string;
  html: string;
}

/** One line: header-safe and tidy (no CR/LF, collapsed whitespace). */
export function oneLine(value: string): string {
  return value.replace(/\s+/g, " ").trim();
}

export function versionFor(changelog: UserChangelog | undefined, digest: string): string {
  return changelog ? oneLine(changelog.version) : shortDigest(digest);
}

export function safeHttpUrl(url: string | undefined, bot: string): string | undefined {
  if (!url) return undefined;
  const filled = url.replaceAll("{bot}", encodeURIComponent(bot));
  try {
    const parsed = new URL(filled);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** Sections in the fixed New / Improved / Fixed order, empty ones left out. */
export function changelogSections(changelog: UserChangelog): { title: string; items: string[] }[] {
  return changelogSectionTitles
    .map((title) => ({
      title,
      items: changelog.sections
        .filter((s) => s.title === title)
        .flatMap((s) => s.items)
        .map(oneLine)
        .filter((item) => item !== ""),
    }))
    .filter((s) => s.items.length > 0);
}

export function changelogText(changelog: UserChangelog): string[] {
  const lines = [`What's new in ${oneLine(changelog.version)} (${oneLine(changelog.date)}):`, ""];
  const sections = changelogSections(changelog);
  if (sections.length === 0) lines.push("Maintenance changes only.");
  for (const section of sections) {
    lines.push(section.title);
    for (const item of section.items) lines.push(`  - ${item}`);
    lines.push("");
  }
  return lines;
}

export function changelogHtml(changelog: UserChangelog): string {
  const sections = changelogSections(changelog);
  const parts = [
    `<h2 style="font-size:17px;margin:24px 0 8px">What's new in ${escapeHtml(oneLine(changelog.version))} <span style="color:#59636e;font-weight:normal">(${escapeHtml(oneLine(changelog.date))})</span></h2>`,
  ];
  if (sections.length === 0) parts.push("<p>Maintenance changes only.</p>");
  for (const section of sections) {
    parts.push(`<h3 style="font-size:15px;margin:16px 0 4px">${escapeHtml(section.title)}</h3>`);
    parts.push(`<ul>${section.items.map((item) => `<li>${escapeHtml(item)}</li>`).join("")}</ul>`);
  }
  return parts.join("\n");
}

export function page(title: string, body: string): string {
  return [
    "<!doctype html>",
    `<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`,
    '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;line-height:1.5;color:#1f2328;max-width:680px">',
    body,
    '<p style="color:#59636e;font-size:12px;margin-top:32px">Sent automatically by Fleetwave.</p>',
    "</body></html>",
  ].join("\n");
}

export function p(text: string): string {
  return `<p>${escapeHtml(text)}</p>`;
}

export function code(text: string): string {
  return `<code style="font-family:ui-monospace,Menlo,Consolas,monospace">${escapeHtml(text)}</code>`;
}

export type Details = [label: string, value: string | undefined][];

export function detailsText(details: Details): string[] {
  const shown = details.filter((d): d is [string, string] => d[1] !== undefined);
  const width = Math.max(...shown.map(([label]) => label.length));
  const indent = " ".repeat(width + 2);
  return shown.map(
    ([label, value]) => `${`${label}:`.padEnd(width + 2)}${value.trim().split(/\r?\n/).join(`\n${indent}`)}`,
  );
}

export function detailsHtml(details: Details): string {
  const rows = details
    .filter((d): d is [string, string] => d[1] !== undefined)
    .map(
      ([label, value]) =>
        `<tr><th style="text-align:left;padding:2px 12px 2px 0;vertical-align:top">${escapeHtml(label)}</th><td style="font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap">${escapeHtml(value)}</td></tr>`,
    );
  return `<table style="border-collapse:collapse">${rows.join("")}</table>`;
}

export function adminSubject(host: string, text: string): string {
  return oneLine(`[fleetwave ${host}] ${text}`);
}

export function finish(audience: Audience, subject: string, text: string[], html: string[]): RenderedEmail {
  return {
    audience,
    subject: oneLine(subject),
    text: `${text
      .join("\n")
      .replace(/\n{3,}/g, "\n\n")
      .trimEnd()}\n\n-- \nSent automatically by Fleetwave.\n`,
    html: page(subject, html.join("\n")),
  };
}
