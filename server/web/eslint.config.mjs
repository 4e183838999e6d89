// The operator page's modules, checked by scripts/lint-web.sh: every name a
// module uses is declared or imported (no-undef), nothing imported lies
// unused. Browser globals only; no build step.
import globals from "globals";

export default [{
  files: ["js/**/*.js"],
  languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.browser } },
  rules: {
    "no-undef": "error",
    "no-unused-vars": ["error", { args: "none", varsIgnorePattern: "^_", caughtErrors: "none" }],
  },
}];
