use crate::cli::ProfileCommand;
use crate::policy::catalog;
use crate::policy::profile::BUILTIN;
use crate::policy::select::Operator;
use crate::policy::{report, Profile};

pub fn run(c: &ProfileCommand) -> anyhow::Result<i32> {
    let op = Operator::from_environment()?;
    let dir = op.profiles_dir.as_path();
    match c {
        ProfileCommand::List => {
            let mut names: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
            if let Ok(entries) = std::fs::read_dir(dir) {
                let mut extra: Vec<String> = entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| {
                        e.file_name()
                            .to_str()?
                            .strip_suffix(".toml")
                            .map(str::to_owned)
                    })
                    .filter(|n| !names.contains(n))
                    .collect();
                extra.sort();
                names.extend(extra);
            }
            for n in names {
                match Profile::load(&n, Some(dir)) {
                    Ok(p) => println!(
                        "{:<12} {:<8} {:<11} {}{}",
                        p.name,
                        p.mode.name(),
                        p.ancestors.first().map_or("-", |s| s.as_str()),
                        p.description,
                        if n == op.profile {
                            "  (operator's profile)"
                        } else {
                            ""
                        }
                    ),
                    Err(e) => println!("{n:<12} invalid: {e}"),
                }
            }
        }
        ProfileCommand::Show { name } => {
            print!("{}", report::show(&Profile::load(name, Some(dir))?))
        }
        ProfileCommand::Explain { rule } => {
            let r = catalog::find(rule).ok_or_else(|| {
                anyhow::anyhow!(
                    "no rule {rule:?}; the rules are: {}",
                    catalog::RULES
                        .iter()
                        .map(|r| r.id)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            print!("{}", report::explain(r));
        }
        ProfileCommand::Reference => print!("{}", report::reference()),
    }
    Ok(0)
}
