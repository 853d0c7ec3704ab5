// ESLint (flat config): typescript-eslint's recommended rules plus the type-aware ones that
// catch real bugs in async code (floating and misused promises), with Prettier owning layout.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import prettier from "eslint-config-prettier";

export default tseslint.config(
  { ignores: ["dist/**", "dist-bench/**", "node_modules/**", "test/generated/**", "data/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false, attributes: false } }],
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", destructuredArrayIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      // `void promise` is how a fire-and-forget call says so; `void x` of a bare name only hides an unused variable.
      "no-restricted-syntax": [
        "error",
        { selector: "UnaryExpression[operator='void'] > Identifier.argument", message: "Remove the unused variable instead of voiding it." },
      ],
      eqeqeq: ["error", "always", { null: "ignore" }],
    },
  },
  // Tests read loosely typed GraphQL answers.
  { files: ["test/**/*.ts"], rules: { "@typescript-eslint/no-explicit-any": "off" } },
  { files: ["**/*.js", "**/*.mjs"], ...tseslint.configs.disableTypeChecked },
  prettier,
);
