/** The database of this application: the shared connection code with the root's model table. */
import { connectDatabase as connect, type DatabaseOptions, type Database } from "./common/database.js";
import { bindModels } from "./models.js";

export { BACKGROUND_COMMENT, type Database, type Models, type TxnSession } from "./common/database.js";

export function connectDatabase(options: Omit<DatabaseOptions, "bindModels">): Promise<Database> {
  return connect({ ...options, bindModels });
}
