/**
 * Outgoing mail behind one interface: SMTP (nodemailer) when SMTP_URL is set, an in-memory
 * outbox in tests, and in development a log line with the message (so a reset link can be
 * followed without a mail server).
 */
import nodemailer, { type Transporter } from "nodemailer";
import type { Logger } from "pino";

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
  constructor(private readonly log: Logger) {}
  async send(mail: Mail): Promise<void> {
    this.log.info({ mail }, `mail to ${mail.to}: ${mail.subject} (development: not sent; set SMTP_URL to send)`);
  }
}

export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;
  constructor(url: string, private readonly from: string) {
    this.transport = nodemailer.createTransport(url);
  }
  async send(mail: Mail): Promise<void> {
    await this.transport.sendMail({ from: this.from, ...mail });
  }
}
