use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::{CreateArgs, LearnArgs};
use crate::commands::run::{foreground, Foreground};
use crate::learn::{self, generate, Recording, Session};
use crate::policy::{self, Mode, Profile, RealHost, Scope};
use crate::spec::{self, Rootfs};
use crate::state::Container;

/// `palisade learn`: record one run of a bundle (or merge recordings) and write the
/// learned profile, its report, the recording, and the config as the profile runs it.
pub fn run(root: &Path, a: &LearnArgs, systemd_cgroup: bool) -> anyhow::Result<i32> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("learn: --out {}", a.out.display()))?;
    if !a.merge.is_empty() {
        return merge(a);
    }
    let (Some(bundle), Some(id)) = (&a.bundle, &a.id) else {
        anyhow::bail!("learn: --bundle and a container id are needed");
    };
    let name = learn::profile_name(a.name.as_deref().unwrap_or(id));
    let create = CreateArgs {
        bundle: bundle.clone(),
        console_socket: None,
        pid_file: None,
        no_pivot: false,
        no_new_keyring: false,
        preserve_fds: 0,
        pidfd_socket: None,
        id: id.clone(),
    };
    let (session, theirs) = Session::new().context("learn: recording session")?;
    let mut session = Some(session);
    let mut recorder = None;
    let mut base = String::new();
    let mut writable = vec![];
    let opts = Foreground {
        detach: false,
        keep: true,
        systemd_cgroup,
        recorder: Some(theirs),
        learn_base: a.base.as_deref(),
    };
    let code = foreground(root, &create, opts, &mut |pid| {
        let c = Container::load(root, id)?;
        base = c.record.profile.clone().unwrap_or_default();
        let config = spec::read_document(&c.config_path())?;
        let plan = spec::plan_document(&config.value, &c.record.bundle, Rootfs::MustExist)?;
        writable = policy::catalog::writable_places(&plan);
        let s = session.take().expect("created once");
        let (id, base) = (id.clone(), base.clone());
        recorder = Some(std::thread::spawn(move || s.record(pid, &id, &base)));
        Ok(())
    });
    let rec = recorder.map(|h| h.join());
    let _ = crate::lifecycle::delete(root, id, true);
    let code = code?;
    let rec = match rec {
        Some(Ok(r)) => r?,
        Some(Err(_)) => anyhow::bail!("learn: the recorder failed"),
        None => anyhow::bail!("learn: the container was not created"),
    };
    if code != 0 {
        eprintln!("palisade learn: the workload exited with status {code}: the recording holds what it did until then");
    }
    let base_profile =
        Profile::load(&base, None).with_context(|| format!("learn: base profile {base}"))?;
    let learned = generate::learn(&name, &rec, &base_profile, &writable);
    // The bundle's config as the learned profile runs it, so that the result can be
    // checked and run as is.
    let config = enforced_config(bundle, &learned)?;
    let out = learn::write(&a.out, &learned, &rec, Some(&config))?;
    summary(&learned, &out);
    Ok(0)
}

fn enforced_config(bundle: &Path, l: &learn::Learned) -> anyhow::Result<serde_json::Value> {
    let bundle = spec::absolute_bundle(bundle)?;
    let mut doc = spec::read_document(&bundle.join("config.json"))?;
    learn::prepare(&mut doc.value)?;
    // The profile is read back from its text, as a user will read it.
    let profile = policy::profile::parse(&l.toml, &l.name, None, 0)?;
    let d = policy::decide(
        &mut doc.value,
        &profile,
        Mode::Enforce,
        &RealHost,
        Scope::Container,
        &|v| spec::plan_document(v, &bundle, Rootfs::MayBeAbsent),
    )?;
    if !d.remaining.is_empty() {
        anyhow::bail!(
            "learn: the learned profile refuses the bundle's config:\n{}",
            d.refusal()
        );
    }
    // A relative root stays the bundle's.
    if let Some(root) = doc.value["root"]["path"].as_str() {
        if !root.starts_with('/') {
            doc.value["root"]["path"] = bundle.join(root).to_string_lossy().into_owned().into();
        }
    }
    doc.value["annotations"][policy::select::ANNOTATION_PROFILE] = l.name.clone().into();
    Ok(doc.value)
}

fn merge(a: &LearnArgs) -> anyhow::Result<i32> {
    let mut all: Option<Recording> = None;
    for p in &a.merge {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("learn --merge: {}", p.display()))?;
        let r = Recording::parse(&text, &p.to_string_lossy())?;
        match &mut all {
            None => all = Some(r),
            Some(m) => m.merge(r)?,
        }
    }
    let rec = all.expect("clap requires one");
    let name = learn::profile_name(a.name.as_deref().unwrap_or("merged"));
    let base = Profile::load(&rec.base, None)
        .with_context(|| format!("learn: base profile {}", rec.base))?;
    // The writes were kept to writable places when each run was learned.
    let learned = generate::learn(&name, &rec, &base, &[PathBuf::from("/")]);
    let out = learn::write(&a.out, &learned, &rec, None)?;
    summary(&learned, &out);
    Ok(0)
}

fn summary(l: &learn::Learned, out: &learn::Outputs) {
    println!(
        "{}: {} syscalls, {} capabilities{}\n  profile   {}\n  report    {}\n  recording {}",
        l.name,
        l.syscalls,
        l.capabilities.len(),
        if l.capabilities.is_empty() {
            String::new()
        } else {
            format!(" ({})", l.capabilities.join(", "))
        },
        out.profile.display(),
        out.report.display(),
        out.recording.display()
    );
    if let Some(c) = &out.config {
        println!("  config    {}", c.display());
    }
}
