/**
 * Outgoing mail behind one interface: SMTP (nodemailer) when SMTP_URL is set, an in-memory
 * outbox in tests, and in development a log line with the message (so a reset link can be
 * followed without a mail server). In production without SMTP_URL the log line names only the
 * recipient and subject: a mail body carries reset links, which must never reach a log.
 */
import nodemailer, { type Transporter } from "nodemailer";
import type { Logger } from "pino";
import type { Config } from "../config.js";

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
}

export class MemoryMailer implements Mailer {
  readonly outbox: Mail[] = [];
  async send(mail: Mail): Promise<void> {
    this.outbox.push(mail);
  }
}

export class LogMailer implements Mailer {
  constructor(
    private readonly log: Pick<Logger, "info" | "warn">,
    /** False in production: the body (with its links) is never logged. */
    private readonly withBody = true,
  ) {}
  async send(mail: Mail): Promise<void> {
    if (this.withBody) this.log.info({ mail }, `mail to ${mail.to}: ${mail.subject} (development: not sent; set SMTP_URL to send)`);
    else this.log.warn({ mail: { to: mail.to, subject: mail.subject } }, `mail to ${mail.to} NOT sent: SMTP_URL is not set (body withheld from the log)`);
  }
}

/** The mailer the configuration asks for (tests pass their own MemoryMailer instead). */
export function createMailer(config: Config, log: Pick<Logger, "info" | "warn">): Mailer {
  if (config.smtpUrl) return new SmtpMailer(config.smtpUrl, config.mailFrom);
  return new LogMailer(log, config.env !== "production");
}

export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;
  constructor(
    url: string,
    private readonly from: string,
  ) {
    this.transport = nodemailer.createTransport(url);
  }
  async send(mail: Mail): Promise<void> {
    await this.transport.sendMail({ from: this.from, ...mail });
  }
}
