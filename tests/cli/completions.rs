//! `saas completions`: the scripts, loaded into the real shells, complete the field
//! specs of `saas add resource` as a user presses Tab after `name:`. bash is always
//! checked; zsh and fish where they are installed, and always when
//! `SAAS_REQUIRE_SHELLS` is set (as `.ci/run` does, having installed them).

use std::path::PathBuf;
use std::process::Command;

/// A PATH on which `saas` is the binary under test.
fn path_with_saas() -> String {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_saas"));
    let dir = binary.parent().unwrap().display().to_string();
    format!("{dir}:{}", std::env::var("PATH").unwrap_or_default())
}

/// Runs `script` in `shell`, or returns `None` when the shell is missing and not
/// required.
fn run(shell: &str, args: &[&str], script: &str) -> Option<String> {
    let output = Command::new(shell)
        .args(args)
        .arg(script)
        .env("PATH", path_with_saas())
        .current_dir(std::env::temp_dir())
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) if std::env::var_os("SAAS_REQUIRE_SHELLS").is_none() => {
            eprintln!("{shell} is not installed ({error}): its completions are not checked");
            return None;
        }
        Err(error) => panic!("{shell} is required (SAAS_REQUIRE_SHELLS) but failed: {error}"),
    };
    assert!(
        output.status.success(),
        "{shell} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).unwrap())
}

/// What bash offers for the last word of `line`, completed by the registered function
/// with the words split as bash splits them (`:` breaks words).
fn bash_completes(line: &str) -> Vec<String> {
    let script = format!(
        r#"
source <(saas completions bash)
line='{line}'
COMP_LINE=$line COMP_POINT=${{#line}}
COMP_WORDBREAKS=${{COMP_WORDBREAKS:-$' \t\n"'"'"'><=;|&(:'}}
read -r -a COMP_WORDS <<< "${{line//:/ : }}"
[[ $line == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
function=$(complete -p saas | sed -E 's/.* -F ([^ ]+) .*/\1/')
"$function" saas "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
"#
    );
    let printed = run("bash", &["-c"], &script).expect("bash is installed");
    printed.lines().map(str::to_owned).collect()
}

#[test]
fn bash_completes_a_fields_type_and_then_its_modifiers() {
    // bash replaces only what follows the last `:`.
    assert_eq!(
        bash_completes("saas add resource Project due_on:da"),
        ["date", "datetime"]
    );
    assert_eq!(
        bash_completes("saas add resource Task owner:references:us"),
        ["user"]
    );
    assert_eq!(
        bash_completes("saas add model Task code:string:unique:"),
        ["optional", "index"]
    );
    let types = bash_completes("saas add resource Project title:");
    for expected in ["string", "text", "bool", "date", "references"] {
        assert!(types.iter().any(|ty| ty == expected), "{types:?}");
    }
    // The commands are still clap's.
    assert!(
        bash_completes("saas ")
            .iter()
            .any(|word| word == "completions")
    );
}

#[test]
fn zsh_completes_a_fields_type_and_then_its_modifiers() {
    // compadd and compdef outside a completion widget: print what would be offered.
    let script = r#"
compdef() { print -r -- "registered: $*"; }
source <(saas completions zsh)
compadd() { shift; print -rl -- "$@"; }
words=(saas add resource Project due_on:date:)
CURRENT=5
_saas_fields
"#;
    let Some(printed) = run("zsh", &["-c"], script) else {
        return;
    };
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines,
        [
            "registered: _saas_fields saas",
            "due_on:date:optional",
            "due_on:date:unique",
            "due_on:date:index"
        ]
    );
}

#[test]
fn fish_completes_a_fields_type_and_then_its_modifiers() {
    let script = r#"saas completions fish | source
complete -C"saas add resource Project due_on:da"
complete -C"saas add resource Project owner:references:user:o""#;
    let Some(printed) = run("fish", &["-c"], script) else {
        return;
    };
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines,
        [
            "due_on:date",
            "due_on:datetime",
            "owner:references:user:optional"
        ]
    );
}
