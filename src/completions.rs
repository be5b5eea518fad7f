//! `saas completions <shell>`: clap's script for the commands and options, plus, for
//! bash, zsh and fish, the field specs of `saas add resource`. A spec's types and
//! modifiers come from `saas debug complete-field`, so the script never lists them.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "saas", &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    match shell {
        Shell::Bash => with_fields(script, "complete -F _saas ", BASH_FIELDS),
        Shell::Zsh => with_fields(
            script,
            "if [ \"$funcstack[1]\" = \"_saas\" ]; then",
            ZSH_FIELDS,
        ),
        Shell::Fish => script + FISH_FIELDS,
        _ => script,
    }
}

/// Puts `fields` before the script's first `registration` line and registers its
/// function in place of clap's.
fn with_fields(script: String, registration: &str, fields: &str) -> String {
    let at = script.find(registration).unwrap_or_else(|| {
        panic!("clap_complete's script no longer has `{registration}`; update completions.rs")
    });
    let (functions, registrations) = script.split_at(at);
    let registrations = registrations
        .replace("complete -F _saas ", "complete -F _saas_fields ")
        .replace("    _saas \"$@\"", "    _saas_fields \"$@\"")
        .replace("compdef _saas saas", "compdef _saas_fields saas");
    format!("{functions}{fields}\n{registrations}")
}

const BASH_FIELDS: &str = r#"# The field specs of `saas add resource`: after `name:`, the types, then the modifiers.
_saas_fields() {
    local typed=${COMP_LINE:0:COMP_POINT}
    local word=${typed##*[[:space:]]}
    if [[ ${COMP_WORDS[1]} == add && ${COMP_WORDS[2]} == @(resource|model) && $word == *:* ]]; then
        local IFS=$'\n'
        COMPREPLY=($("${COMP_WORDS[0]}" debug complete-field "$word"))
        # `:` breaks words, so bash replaces only what follows the last one.
        if [[ $COMP_WORDBREAKS == *:* ]]; then
            local before=${word%"${word##*:}"}
            COMPREPLY=("${COMPREPLY[@]#"$before"}")
        fi
        return 0
    fi
    _saas "$@"
}
"#;

const ZSH_FIELDS: &str = r#"# The field specs of `saas add resource`: after `name:`, the types, then the modifiers.
_saas_fields() {
    if [[ ${words[2]} == add && ${words[3]} == (resource|model) && ${words[CURRENT]} == *:* ]]; then
        local -a fields
        fields=(${(f)"$(${words[1]} debug complete-field ${words[CURRENT]})"})
        compadd -- $fields
        return
    fi
    _saas "$@"
}
"#;

const FISH_FIELDS: &str = r#"
# The field specs of `saas add resource`: after `name:`, the types, then the modifiers.
complete -c saas -n "__fish_seen_subcommand_from add; and __fish_seen_subcommand_from resource model" -f -a "(saas debug complete-field (commandline -ct))"
"#;
