//! docs/ written from the provider's schemas: one page per type in the Registry's layout, with
//! the example and import command from examples/ and a short hand-written notes file per type
//! (`examples/<kind>/<type>/notes.md`, `examples/provider/notes.md`) for prose a schema cannot
//! hold. `make docs` writes the pages; a test checks docs/ matches them byte for byte.

use std::fmt::Write as _;
use std::path::Path;

use super::identity::IdentitySchema;
use super::list::AnyListResource;
use super::registry::{AnyDataSource, AnyResource};
use super::resource::Provider;
use super::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
use super::validate::Check;
use super::value::Type;

/// One generated page: its path under docs/ and its text.
pub struct Page {
    pub path: String,
    pub text: String,
}

/// Every page of `provider`, from its schemas and the files under `examples`.
pub fn render_all<P: Provider>(provider: &P, provider_name: &str, examples: &Path) -> Result<Vec<Page>, String> {
    let mut pages = vec![Page { path: "index.md".into(), text: render_index(provider, provider_name, examples)? }];
    let lists = provider.list_resources();
    for resource in provider.resources() {
        let listable = lists.iter().any(|l| l.type_name() == resource.type_name());
        pages.push(render_resource(resource.as_ref(), listable, provider_name, examples)?);
    }
    for data_source in provider.data_sources() {
        pages.push(render_data_source(data_source.as_ref(), provider_name, examples)?);
    }
    for list in lists {
        pages.push(render_list_resource(list.as_ref(), provider_name, examples)?);
    }
    Ok(pages)
}

fn render_index<P: Provider>(provider: &P, name: &str, examples: &Path) -> Result<String, String> {
    let schema = provider.schema();
    let dir = examples.join("provider");
    let mut page = front_matter(&format!("{name} Provider"), &schema.block.description);
    let _ = writeln!(page, "# {name} Provider\n\n{}\n", schema.block.description);
    push_notes(&mut page, &dir)?;
    let _ = writeln!(page, "## Example Usage\n\n```terraform\n{}\n```\n", read(&dir.join("provider.tf"))?.trim_end());
    push_schema(&mut page, &schema);
    Ok(finish(page))
}

fn render_resource<S>(resource: &dyn AnyResource<S>, listable: bool, provider: &str, examples: &Path) -> Result<Page, String> {
    let type_name = resource.type_name();
    let dir = examples.join("resources").join(type_name);
    let mut page = type_page(type_name, "Resource", provider, resource.schema(), &dir, "resource.tf")?;
    let import_sh = read(&dir.join("import.sh"))?;
    let _ = writeln!(page, "## Import\n\nImport is supported using the following syntax:\n\n```shell\n{}\n```\n", import_sh.trim_end());
    let (address, id) =
        first_import(&import_sh).ok_or_else(|| format!("{}: no `terraform import ADDRESS ID` line", dir.join("import.sh").display()))?;
    let _ = writeln!(
        page,
        "With Terraform 1.5 or later, an `import` block takes the same ID:\n\n```terraform\nimport {{\n  to = {address}\n  id = \"{id}\"\n}}\n```\n"
    );
    push_identity(&mut page, resource.identity_schema(), &address, &id);
    let short = short_name(type_name);
    if listable {
        let _ = writeln!(
            page,
            "`terraform query` (Terraform 1.14+) lists this type's objects with their identity: see [the list resource](../list-resources/{short}.md).\n"
        );
    } else {
        let _ = writeln!(page, "`terraform query` does not list this type.\n");
    }
    push_generated_config(&mut page, resource.schema());
    Ok(Page { path: format!("resources/{short}.md"), text: finish(page) })
}

/// A list resource's page: the `config` block's filters and a query file from examples/.
fn render_list_resource<S>(list: &dyn AnyListResource<S>, provider: &str, examples: &Path) -> Result<Page, String> {
    let type_name = list.type_name();
    let dir = examples.join("list-resources").join(type_name);
    let mut page = type_page(type_name, "List Resource", provider, list.schema(), &dir, "query.tfquery.hcl")?;
    let _ = writeln!(
        page,
        "The schema above is that of the `list` block's `config` block; leave the block out to list without filters. Each result carries the object's [identity](../resources/{short}.md#identity), and its state when `include_resource = true`. `terraform query -generate-config-out=generated.tf` writes an `import` block and configuration for each result.\n",
        short = short_name(type_name)
    );
    Ok(Page { path: format!("list-resources/{}.md", short_name(type_name)), text: finish(page) })
}

/// `name = value` of every attribute with a default, nested blocks' too.
fn push_defaults(block: &Block, out: &mut Vec<String>) {
    out.extend(block.attributes.iter().filter_map(|a| a.default.as_ref().map(|d| format!("`{} = {}`", a.name, d.to_json()))));
    for nested in &block.blocks {
        push_defaults(&nested.block, out);
    }
}

/// The address and ID of the first `terraform import ADDRESS ID` line of an import.sh.
fn first_import(import_sh: &str) -> Option<(String, String)> {
    let line = import_sh.lines().find_map(|l| l.trim().strip_prefix("terraform import "))?;
    let (address, id) = line.trim().split_once(' ')?;
    Some((address.to_string(), id.trim().trim_matches('"').to_string()))
}

/// The identity attributes, and the `import` block that names the object by them.
fn push_identity(page: &mut String, identity: &IdentitySchema, address: &str, id: &str) {
    let _ = writeln!(
        page,
        "### Identity\n\nTerraform 1.12 and later store this identity beside the state; it never changes over the object's life. `import {{ identity = … }}` takes it instead of the ID, and list results carry it. All its attributes are strings, each required for import:\n"
    );
    for attr in &identity.attributes {
        let _ = writeln!(page, "- `{}` (String) {}", attr.name, attr.description.trim());
    }
    let width = identity.attributes.iter().map(|a| a.name.len()).max().unwrap_or(0);
    let fields: String = identity.from_import_id(id).iter().map(|(name, value)| format!("    {name:width$} = \"{value}\"\n")).collect();
    let _ = writeln!(page, "\n```terraform\nimport {{\n  to = {address}\n  identity = {{\n{fields}  }}\n}}\n```\n");
}

/// What `plan -generate-config-out` writes for this type, by Terraform version.
fn push_generated_config(page: &mut String, schema: &Schema) {
    let _ = writeln!(
        page,
        "### Generated configuration\n\nWith Terraform 1.14 and later, `terraform plan -generate-config-out=generated.tf` beside an `import` block asks the provider for the configuration: no read-only attributes, no value equal to its default, one attribute of each exactly-one-of pair, sets in sorted order, write-only attributes left out. Applied, it imports the object and plans no changes.\n"
    );
    let block = &schema.block;
    let filled_by_import = |name: &String| block.attribute(name).is_some_and(|a| a.optional && a.computed && a.default.is_none());
    let mut differences = Vec::new();
    for rule in &block.rules {
        let both: Vec<&String> = rule.attrs().iter().filter(|a| filled_by_import(a)).collect();
        if let [keep, rest @ ..] = both.as_slice() {
            if !rest.is_empty() {
                let dropped: Vec<String> = rest.iter().map(|a| format!("`{a}`")).collect();
                differences.push(format!(
                    "it writes both `{keep}` and {}, which fails validation ({}): delete {}",
                    dropped.join(", "),
                    rule.describe_for(keep).trim_end_matches('.').to_lowercase(),
                    dropped.join(", ")
                ));
            }
        }
    }
    let mut defaults = Vec::new();
    push_defaults(block, &mut defaults);
    if !defaults.is_empty() {
        differences.push(format!("it writes attributes at their defaults ({}), which is harmless", defaults.join(", ")));
    }
    let _ = write!(page, "Terraform 1.5 to 1.13 write the configuration themselves, from the imported state (not tested here: the suite runs 1.0.3 and 1.15.5). ");
    if differences.is_empty() {
        let _ = writeln!(page, "For this type that is the same configuration, with `null` for what is not set.\n");
    } else {
        let _ = writeln!(page, "For this type {}.\n", differences.join("; and "));
    }
}

fn render_data_source<S>(data_source: &dyn AnyDataSource<S>, provider: &str, examples: &Path) -> Result<Page, String> {
    let type_name = data_source.type_name();
    let dir = examples.join("data-sources").join(type_name);
    let page = type_page(type_name, "Data Source", provider, data_source.schema(), &dir, "data-source.tf")?;
    Ok(Page { path: format!("data-sources/{}.md", short_name(type_name)), text: finish(page) })
}

fn type_page(type_name: &str, kind: &str, provider: &str, schema: &Schema, dir: &Path, example: &str) -> Result<String, String> {
    let mut page = front_matter(&format!("{type_name} {kind} - {provider}"), &schema.block.description);
    let _ = writeln!(page, "# {type_name} ({kind})\n\n{}\n", schema.block.description);
    push_notes(&mut page, dir)?;
    let _ = writeln!(page, "## Example Usage\n\n```terraform\n{}\n```\n", read(&dir.join(example))?.trim_end());
    push_schema(&mut page, schema);
    Ok(page)
}

fn front_matter(title: &str, description: &str) -> String {
    let indented: Vec<String> = description.lines().map(|l| format!("  {l}")).collect();
    format!("---\npage_title: \"{title}\"\nsubcategory: \"\"\ndescription: |-\n{}\n---\n\n", indented.join("\n"))
}

fn push_notes(page: &mut String, dir: &Path) -> Result<(), String> {
    let notes = dir.join("notes.md");
    if notes.is_file() {
        let _ = writeln!(page, "{}\n", read(&notes)?.trim_end());
    }
    Ok(())
}

/// The Schema section: required, optional and read-only attributes, then nested blocks.
fn push_schema(page: &mut String, schema: &Schema) {
    let _ = writeln!(page, "## Schema\n");
    push_block(page, &schema.block, "");
}

fn push_block(page: &mut String, block: &Block, anchor: &str) {
    let groups: [(&str, AttributeIn, BlockIn); 3] = [
        ("Required", |a| a.required, |b| b.min_items > 0),
        ("Optional", |a| a.optional && !a.required, |b| b.min_items == 0),
        ("Read-Only", |a| a.computed && !a.optional && !a.required, |_| false),
    ];
    for (title, attr_in, block_in) in groups {
        let attrs: Vec<&Attribute> = block.attributes.iter().filter(|a| attr_in(a)).collect();
        let blocks: Vec<&NestedBlock> = block.blocks.iter().filter(|b| block_in(b)).collect();
        if attrs.is_empty() && blocks.is_empty() {
            continue;
        }
        let _ = writeln!(page, "### {title}\n");
        for attr in attrs {
            let _ = writeln!(page, "- {}", attribute_line(attr, block));
        }
        for nested in blocks {
            let _ = writeln!(page, "- {}", block_line(nested, anchor));
        }
        page.push('\n');
    }
    for nested in &block.blocks {
        let id = format!("{anchor}{}", nested.name);
        let _ = writeln!(page, "<a id=\"nestedblock--{id}\"></a>\n### Nested Schema for `{}`\n", id.replace("--", "."));
        push_block(page, &nested.block, &format!("{id}--"));
    }
}

/// Whether an attribute, or a nested block, belongs to a section of the page.
type AttributeIn = fn(&Attribute) -> bool;
type BlockIn = fn(&NestedBlock) -> bool;

fn attribute_line(attr: &Attribute, block: &Block) -> String {
    let mut kind = type_name(&attr.ty());
    if attr.sensitive {
        kind.push_str(", Sensitive");
    }
    let mut text = format!("`{}` ({kind})", attr.name);
    let mut sentences = vec![attr.description.trim().to_string()];
    sentences.extend(attr.checks.iter().map(check_sentence));
    for rule in block.rules.iter().filter(|r| r.attrs().contains(&attr.name)) {
        sentences.push(rule.describe_for(&attr.name));
    }
    if let Some(default) = &attr.default {
        sentences.push(format!("Default: `{}`.", default.to_json()));
    }
    if attr.force_new {
        sentences.push("Changing it replaces the object.".to_string());
    }
    let sentences: Vec<String> = sentences.into_iter().filter(|s| !s.is_empty()).collect();
    if !sentences.is_empty() {
        text.push(' ');
        text.push_str(&sentences.join(" "));
    }
    text
}

fn check_sentence(check: &Check) -> String {
    match check {
        Check::Items { .. } => format!("Must have {}.", check.describe()),
        Check::Each(inner) => format!("Each element must be {}.", inner.describe()),
        _ => format!("Must be {}.", check.describe()),
    }
}

fn block_line(nested: &NestedBlock, anchor: &str) -> String {
    let mut kind = match nested.nesting {
        Nesting::Single => "Block".to_string(),
        Nesting::List => "Block List".to_string(),
    };
    if nested.min_items > 0 {
        let _ = write!(kind, ", Min: {}", nested.min_items);
    }
    if nested.max_items > 0 {
        let _ = write!(kind, ", Max: {}", nested.max_items);
    }
    let description: String = Some(nested.block.description.trim()).filter(|d| !d.is_empty()).map(|d| format!(" {d}")).unwrap_or_default();
    let id = format!("{anchor}{}", nested.name);
    format!("`{}` ({kind}){description} (see [below for nested schema](#nestedblock--{id}))", nested.name)
}

fn type_name(ty: &Type) -> String {
    match ty {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Boolean".into(),
        Type::List(of) => format!("List of {}", type_name(of)),
        Type::Set(of) => format!("Set of {}", type_name(of)),
        Type::Map(of) => format!("Map of {}", type_name(of)),
        Type::Object(attrs) => {
            let fields: Vec<String> = attrs.iter().map(|(name, t)| format!("`{name}` ({})", type_name(t))).collect();
            format!("Object: {}", fields.join(", "))
        }
    }
}

fn short_name(type_name: &str) -> &str {
    type_name.split_once('_').map_or(type_name, |(_, rest)| rest)
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// One trailing newline, no trailing spaces.
fn finish(page: String) -> String {
    let lines: Vec<&str> = page.lines().map(str::trim_end).collect();
    format!("{}\n", lines.join("\n").trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::validate::Rule;
    use crate::framework::value::Value;

    #[test]
    fn an_attribute_line_states_type_constraints_default_and_replacement() {
        let block = Block::new("b")
            .attr(Attribute::string("name").required().force_new().check(Check::length(1, 5)).describe("The name."))
            .attr(Attribute::string("service").default(Value::string("q")).describe("The service."))
            .attr(Attribute::string("plan").optional())
            .attr(Attribute::string("plan_id").optional())
            .rule(Rule::conflicts_with(&["plan", "plan_id"]));
        assert_eq!(
            attribute_line(&block.attributes[0], &block),
            "`name` (String) The name. Must be 1 to 5 characters. Changing it replaces the object."
        );
        assert_eq!(attribute_line(&block.attributes[1], &block), "`service` (String) The service. Default: `\"q\"`.");
        assert_eq!(attribute_line(&block.attributes[2], &block), "`plan` (String) Conflicts with `plan_id`.");
    }

    #[test]
    fn sections_follow_required_optional_read_only() {
        let block = Block::new("b")
            .attr(Attribute::string("id").computed().describe("ID."))
            .attr(Attribute::string("name").required().describe("Name."))
            .attr(Attribute::string("note").optional().describe("Note."));
        let mut page = String::new();
        push_schema(&mut page, &Schema::new(0, block));
        let order: Vec<usize> = ["### Required", "### Optional", "### Read-Only"].iter().map(|h| page.find(h).expect(h)).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{page}");
    }
}
